"""Correct twin of kmalloc_large_out_of_bounds: the buffer has room for the byte."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    buf = k.kmalloc(40001, GFP_KERNEL)
    if buf is None:
        return
    k.write(buf + 39990, b"\0" * 10)
    k.write(buf + 40000, b"\0")
    k.kfree(buf)
