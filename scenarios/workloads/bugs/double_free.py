"""kfree() twice: the second free of an object already on CPU's per-CPU freelist."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    obj = k.kmalloc(64, GFP_KERNEL)
    if obj is None:
        return
    k.write(obj, b"request")
    k.kfree(obj)
    k.kfree(obj)                          # BUG: freed twice (an error path that frees again)
