"""Correct twin of use_after_free: read the status, then free."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    req = k.kmalloc(64, GFP_KERNEL)
    if req is None:
        return
    k.write(req, b"\x01status")
    k.read(req, 1)
    k.kfree(req)
