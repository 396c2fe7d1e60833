"""kmalloc(GFP_KERNEL) with a spinlock held: the allocation may sleep, the lock holder may not."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    k.spin_lock("cache_lock")
    obj = k.kmalloc(k.rng.randrange(16, 512), GFP_KERNEL)      # BUG: may sleep under a spinlock
    k.spin_unlock("cache_lock")
    if obj is not None:
        k.kfree(obj)
