"""Correct twin of race_zone_counter: both updates of the counter hold the zone lock."""

from scenarios.workloads.bugs.race_shared import p32, setup_shared, shared, teardown_shared, u32

setup = setup_shared
teardown = teardown_shared


def process(k):
    obj = shared(k)
    if obj is None:
        return
    flags = k.spin_lock_irqsave("zone_lock")
    k.write(obj, p32(u32(k.read(obj, 4)) - 1))
    k.spin_unlock_irqrestore("zone_lock", flags)
    flags = k.spin_lock_irqsave("zone_lock")
    k.write(obj, p32(u32(k.read(obj, 4)) + 1))
    k.spin_unlock_irqrestore("zone_lock", flags)
