"""A large (page-backed) kmalloc read after kfree()."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    buf = k.kmalloc(20000, GFP_KERNEL)
    if buf is None:
        return
    k.write(buf, b"\x07")
    k.kfree(buf)
    k.read(buf, 1)                          # BUG: buf was freed
