"""Process context read-modify-writes a per-CPU counter with only preemption off; hardirqs update it too.

get_cpu_var() disables preemption, not interrupts: a hardirq that increments
the same counter between the read and the write loses its update.
"""


def process(k):
    v = k.get_cpu_var("events")
    for _ in range(30):                     # the work between the read and the write
        pass
    k.put_cpu_var("events", v + 1)          # BUG: an interrupt may have changed it


def hardirq(k):
    k.this_cpu_inc("events")
