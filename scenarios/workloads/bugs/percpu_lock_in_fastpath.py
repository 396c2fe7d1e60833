"""A per-CPU fast path declared lock-free takes a spinlock inside it."""


def process(k):
    with k.percpu_fastpath("objpool"):
        k.spin_lock("objpool_lock")        # BUG: a lock on the lock-free fast path
        k.this_cpu_inc("objpool_free")
        k.spin_unlock("objpool_lock")
