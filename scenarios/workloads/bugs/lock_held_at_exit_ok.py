"""Correct twin of lock_held_at_exit: the error path unlocks before returning."""

_state = {"n": 0}


def process(k):
    k.tasklet_schedule()


def tasklet(k):
    _state["n"] += 1
    if _state["n"] > 3:
        return
    lock = f"tl_lock{k.cpu}"
    k.spin_lock(lock)
    if _state["n"] == 3:
        k.spin_unlock(lock)
        return
    k.spin_unlock(lock)
