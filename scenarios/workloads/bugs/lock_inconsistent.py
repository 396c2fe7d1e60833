"""A lock taken in a hardirq and, with interrupts enabled, in process context.

{HARDIRQ-ON-W} -> {IN-HARDIRQ-W}: the interrupt can arrive while process
context on the same CPU holds the lock.
"""


def process(k):
    k.spin_lock("dev_lock")            # BUG: interrupts stay on; the handler takes it too
    k.this_cpu_read("dev_state")
    k.spin_unlock("dev_lock")


def hardirq(k):
    k.spin_lock("dev_lock")
    k.spin_unlock("dev_lock")
