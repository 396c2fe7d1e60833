"""Correct twin: allocate before taking the lock (GFP_KERNEL may sleep there)."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    obj = k.kmalloc(k.rng.randrange(16, 512), GFP_KERNEL)
    k.spin_lock("cache_lock")
    k.spin_unlock("cache_lock")
    if obj is not None:
        k.kfree(obj)
