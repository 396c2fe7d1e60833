"""Correct twin of lock_abba: both CPUs take A then B (one documented order)."""


def process(k):
    a, b = k.lock("lock_A"), k.lock("lock_B")
    k.spin_lock(a)
    k.spin_lock(b)
    k.spin_unlock(b)
    k.spin_unlock(a)
