"""kfree() of a pointer into the middle of an object (a header skipped past)."""

from kernel_model.gfp import GFP_KERNEL

HEADER = 16


def process(k):
    buf = k.kmalloc(128, GFP_KERNEL)
    if buf is None:
        return
    payload = buf + HEADER
    k.write(payload, b"data")
    k.kfree(payload)                      # BUG: not the pointer kmalloc returned
    k.kfree(buf)
