"""Correct twin of lock_inconsistent: process context takes the lock with spin_lock_irqsave."""


def process(k):
    flags = k.spin_lock_irqsave("dev_lock")
    k.this_cpu_read("dev_state")
    k.spin_unlock_irqrestore("dev_lock", flags)


def hardirq(k):
    k.spin_lock("dev_lock")
    k.spin_unlock("dev_lock")
