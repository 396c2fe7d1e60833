"""AA: process context takes a spinlock it already holds (lib/locking-selftest.c "AA")."""


def process(k):
    lock = k.lock("stats_lock")
    k.spin_lock(lock)
    k.spin_lock(lock)          # BUG: this CPU already holds it -- it would spin forever
    k.spin_unlock(lock)
    k.spin_unlock(lock)
