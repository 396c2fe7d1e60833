"""Correct twin of percpu_irq_race: interrupts off around the read-modify-write."""


def process(k):
    flags = k.local_irq_save()
    v = k.get_cpu_var("events")
    for _ in range(30):
        pass
    k.put_cpu_var("events", v + 1)
    k.local_irq_restore(flags)


def hardirq(k):
    k.this_cpu_inc("events")
