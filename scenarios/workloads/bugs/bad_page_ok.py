"""Correct twin of bad_page: free_pages() with the order of the allocation."""

from kernel_model.gfp import GFP_KERNEL

ORDER = 1


def process(k):
    addr = getattr(k, "__get_free_pages")(GFP_KERNEL, ORDER)
    if addr is None:
        return
    k.memset(addr, 0, 4096 << ORDER)
    k.free_pages(addr, ORDER)
