"""Reading a field of an object after kfree() (the status is read after the
request was released)."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    req = k.kmalloc(64, GFP_KERNEL)
    if req is None:
        return
    k.write(req, b"\x01status")
    k.kfree(req)
    k.read(req, 1)                        # BUG: req is freed
