"""A free-page counter kept like zone->free_area[].nr_free: the allocation path
updates it under the zone lock, the free path forgets the lock -- its plain
read-modify-write races with the other CPU's locked one."""

from scenarios.workloads.bugs.race_shared import p32, setup_shared, shared, teardown_shared, u32

setup = setup_shared
teardown = teardown_shared


def process(k):
    obj = shared(k)
    if obj is None:
        return
    flags = k.spin_lock_irqsave("zone_lock")
    k.write(obj, p32(u32(k.read(obj, 4)) - 1))      # take a page: under the lock
    k.spin_unlock_irqrestore("zone_lock", flags)
    k.write(obj, p32(u32(k.read(obj, 4)) + 1))      # BUG: give it back without the lock
