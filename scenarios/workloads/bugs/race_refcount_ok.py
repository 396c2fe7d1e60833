"""Correct twin of race_refcount: the refcount is an atomic_t (atomic_inc,
atomic_dec_and_test), so no update is lost and no access is plain."""

from scenarios.workloads.bugs.race_shared import setup_shared, shared, teardown_shared


def setup(k):
    setup_shared(k, init=lambda k, obj: k.atomic_set(obj, 1))   # CPU 0 holds the first reference


teardown = teardown_shared


def process(k):
    obj = shared(k)
    if obj is None:
        return
    k.atomic_inc(obj)
    k.READ_ONCE(obj + 8, 8)                         # the payload never changes: a marked read
    if k.atomic_dec_and_test(obj):
        raise AssertionError("refcount dropped to zero while CPU 0 still holds its reference")


