"""Correct twin of race_percpu_lost: the read and the write run with interrupts off."""


def process(k):
    flags = k.local_irq_save()
    n = k.this_cpu_read("pending")
    if n > 0:
        k.this_cpu_write("pending", n - 1)
    k.local_irq_restore(flags)


def hardirq(k):
    k.this_cpu_inc("pending")
