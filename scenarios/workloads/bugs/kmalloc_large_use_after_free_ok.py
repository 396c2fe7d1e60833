"""Correct twin of kmalloc_large_use_after_free: read, then kfree()."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    buf = k.kmalloc(20000, GFP_KERNEL)
    if buf is None:
        return
    k.write(buf, b"\x07")
    k.read(buf, 1)
    k.kfree(buf)
