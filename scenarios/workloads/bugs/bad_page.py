"""free_pages() with an order other than the allocation's (order 1 allocated,
order 0 freed: the second page is lost and the buddy allocator is lied to)."""

from kernel_model.gfp import GFP_KERNEL

ORDER = 1


def process(k):
    addr = getattr(k, "__get_free_pages")(GFP_KERNEL, ORDER)
    if addr is None:
        return
    k.memset(addr, 0, 4096 << ORDER)
    k.free_pages(addr, 0)                 # BUG: allocated with order 1
