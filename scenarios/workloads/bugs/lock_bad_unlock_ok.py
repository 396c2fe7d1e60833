"""Correct twin of lock_bad_unlock: the error path returns before touching the mutex."""


def process(k):
    if k.rng.random() < 0.05:
        return
    k.mutex_lock("config_mutex")
    k.mutex_unlock("config_mutex")
