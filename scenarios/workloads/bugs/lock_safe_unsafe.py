"""HARDIRQ-safe -> HARDIRQ-unsafe: irq-safe queue_lock held while taking irq-unsafe stats_lock."""


def process(k):
    k.spin_lock("stats_lock")          # irq-unsafe: interrupts on
    k.spin_unlock("stats_lock")
    flags = k.spin_lock_irqsave("queue_lock")
    k.spin_lock("stats_lock")          # BUG: safe -> unsafe order
    k.spin_unlock("stats_lock")
    k.spin_unlock_irqrestore("queue_lock", flags)


def hardirq(k):
    k.spin_lock("queue_lock")          # queue_lock is taken in hardirq: irq-safe
    k.spin_unlock("queue_lock")
