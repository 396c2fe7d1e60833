"""CPU 0 takes a spinlock and CPU 1 releases it (after a mailbox message): wrong CPU."""

_state = {"sent": 0}

LOCK_MSG = 0x1000


def process(k):
    if k.cpu == 0 and not _state["sent"]:
        k.spin_lock("handoff_lock")
        if k.send(1, LOCK_MSG):
            _state["sent"] = 1
            k.preempt_enable()              # keep this CPU's own state sane after the bug
            return                          # BUG: the lock goes to CPU 1 still held
        k.spin_unlock("handoff_lock")
    elif k.cpu == 1:
        if k.recv() == LOCK_MSG:
            k.preempt_disable()
            k.spin_unlock("handoff_lock")   # BUG: released on a CPU that never took it
