"""A 40000-byte kmalloc (above the largest kmalloc cache: page-backed)
written one byte past its end, inside its last page."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    buf = k.kmalloc(40000, GFP_KERNEL)
    if buf is None:
        return
    k.write(buf + 39990, b"\0" * 10)
    k.write(buf + 40000, b"\0")            # BUG: one byte too far
    k.kfree(buf)
