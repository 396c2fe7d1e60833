"""A buffer of two pages written through a stale pointer after free_pages()
(the address is kept in a descriptor that outlives the buffer)."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    buf = k.__get_free_pages(GFP_KERNEL, 1)
    if buf is None:
        return
    k.write(buf, b"\x01hdr")
    k.free_pages(buf, 1)
    k.write(buf + 4104, b"\xff")          # BUG: the pages were freed
