"""Correct twin of page_use_after_free: the last write comes before free_pages()."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    buf = k.__get_free_pages(GFP_KERNEL, 1)
    if buf is None:
        return
    k.write(buf, b"\x01hdr")
    k.write(buf + 4104, b"\xff")
    k.free_pages(buf, 1)
