"""Correct twin: the fast path is a this_cpu cmpxchg that retries; the lock only on the slow path."""


def process(k):
    with k.percpu_fastpath("objpool"):
        while True:
            old = k.this_cpu_read("objpool_free")
            if k.this_cpu_cmpxchg("objpool_free", old, old + 1) == old:
                break
    if k.rng.random() < 0.1:                 # slow path, outside the fast-path section
        k.spin_lock("objpool_lock")
        k.spin_unlock("objpool_lock")
