"""Correct twin of invalid_free: free the pointer kmalloc returned."""

from kernel_model.gfp import GFP_KERNEL

HEADER = 16


def process(k):
    buf = k.kmalloc(128, GFP_KERNEL)
    if buf is None:
        return
    payload = buf + HEADER
    k.write(payload, b"data")
    k.kfree(buf)
