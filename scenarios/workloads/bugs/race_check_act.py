"""Check-then-act on a shared flag: a CPU reads ``busy``, sees 0 and then sets it --
two plain accesses, so two CPUs can both see 0 and both enter the section that
the flag should make exclusive.  Inside, each writes its CPU number to ``owner``
and reads it back with marked accesses (a probe, not the bug: KCSAN reports the
flag alone)."""

from scenarios.workloads.bugs.race_shared import p32, setup_shared, shared, teardown_shared, u32

setup = setup_shared
teardown = teardown_shared


def process(k):
    obj = shared(k)
    if obj is None:
        return
    if u32(k.read(obj, 4)) != 0:                    # BUG: check ...
        return
    k.write(obj, p32(1))                            # ... then act: not one step
    k.WRITE_ONCE(obj + 8, k.cpu + 1, 4)             # the section's own check is marked:
    if k.READ_ONCE(obj + 8, 4) != k.cpu + 1:        # the bug is the flag, not this probe
        raise AssertionError("two CPUs inside the section the busy flag guards")
    k.write(obj, p32(0))
