"""Correct twin of race_check_act: the flag is taken with atomic_cmpxchg(0 -> 1),
one step, and released with atomic_set, so only one CPU is ever inside."""

from scenarios.workloads.bugs.race_shared import p32, setup_shared, shared, teardown_shared, u32

setup = setup_shared
teardown = teardown_shared


def process(k):
    obj = shared(k)
    if obj is None:
        return
    if k.atomic_cmpxchg(obj, 0, 1) != 0:
        return
    k.write(obj + 8, p32(k.cpu + 1))
    if u32(k.read(obj + 8, 4)) != k.cpu + 1:
        raise AssertionError("two CPUs inside the section the busy flag guards")
    k.atomic_set(obj, 0)
