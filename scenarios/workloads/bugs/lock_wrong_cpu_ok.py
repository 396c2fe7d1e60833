"""Correct twin of lock_wrong_cpu: CPU 0 releases its lock, then tells CPU 1."""

_state = {"sent": 0}

LOCK_MSG = 0x1000


def process(k):
    if k.cpu == 0 and not _state["sent"]:
        k.spin_lock("handoff_lock")
        k.spin_unlock("handoff_lock")
        if k.send(1, LOCK_MSG):
            _state["sent"] = 1
    elif k.cpu == 1:
        if k.recv() == LOCK_MSG:
            k.spin_lock("handoff_lock")
            k.spin_unlock("handoff_lock")
