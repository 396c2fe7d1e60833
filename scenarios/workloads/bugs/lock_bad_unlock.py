"""An error path releases a mutex it never took: bad unlock balance."""


def process(k):
    if k.rng.random() < 0.05:
        k.mutex_unlock("config_mutex")     # BUG: not held on this path
        return
    k.mutex_lock("config_mutex")
    k.mutex_unlock("config_mutex")
