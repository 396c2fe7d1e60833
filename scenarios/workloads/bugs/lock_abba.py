"""AB-BA across two CPUs: CPU 0 takes A then B, CPU 1 takes B then A.

Lockdep reports the inverted order the first time it is seen, whether or not
the two CPUs happen to deadlock in this run (a serialising scheduler can make
them: see the deadlock kind).
"""


def process(k):
    a, b = k.lock("lock_A"), k.lock("lock_B")
    first, second = (a, b) if k.cpu % 2 == 0 else (b, a)      # BUG: two orders
    k.spin_lock(first)
    k.spin_lock(second)
    k.spin_unlock(second)
    k.spin_unlock(first)
