"""Correct twin of double_free: free once, forget the pointer."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    obj = k.kmalloc(64, GFP_KERNEL)
    if obj is None:
        return
    k.write(obj, b"request")
    k.kfree(obj)
    obj = None                            # kfree(); obj = NULL: a second free is a no-op
    k.kfree(obj)
