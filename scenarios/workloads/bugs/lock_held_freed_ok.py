"""Correct twin of lock_held_freed: unlock, then free the object holding the lock."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    obj = k.kmalloc(128, GFP_KERNEL)
    if obj is None:
        return
    lock = k.lock_at(obj, "conn_lock")
    k.spin_lock(lock)
    k.spin_unlock(lock)
    k.kfree(obj)
