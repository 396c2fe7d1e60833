"""Correct twin of lock_safe_unsafe: stats_lock is irq-safe too (irqsave everywhere)."""


def process(k):
    flags = k.spin_lock_irqsave("stats_lock")
    k.spin_unlock_irqrestore("stats_lock", flags)
    flags = k.spin_lock_irqsave("queue_lock")
    k.spin_lock("stats_lock")
    k.spin_unlock("stats_lock")
    k.spin_unlock_irqrestore("queue_lock", flags)


def hardirq(k):
    k.spin_lock("queue_lock")
    k.spin_unlock("queue_lock")
