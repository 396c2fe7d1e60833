"""A tasklet's error path returns with its lock still held."""

_state = {"n": 0}


def process(k):
    k.tasklet_schedule()


def tasklet(k):
    _state["n"] += 1
    if _state["n"] > 3:
        return                              # (the lock is lost: nobody may take it again)
    lock = f"tl_lock{k.cpu}"
    k.spin_lock(lock)
    if _state["n"] == 3:
        k.preempt_enable()                  # (the preempt count, so later work is not atomic)
        return                              # BUG: returns with tl_lock held
    k.spin_unlock(lock)
