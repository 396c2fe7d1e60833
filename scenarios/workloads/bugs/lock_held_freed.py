"""An object is freed while the spinlock inside it is held (debug_check_no_locks_freed)."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    obj = k.kmalloc(128, GFP_KERNEL)
    if obj is None:
        return
    lock = k.lock_at(obj, "conn_lock")
    k.spin_lock(lock)
    k.kfree(obj)                          # BUG: conn_lock lives in obj and is held
    k.spin_unlock(lock)
