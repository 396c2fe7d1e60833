"""Correct twin of lock_recursive: the lock is taken once per critical section."""


def process(k):
    lock = k.lock("stats_lock")
    k.spin_lock(lock)
    k.spin_unlock(lock)
    k.spin_lock(lock)
    k.spin_unlock(lock)
