"""Correct twin of race_free_lookup: lookups read under the slot's lock, and the
old object is freed only after the replacement, outside the lock, when no
reader can still hold it."""

from kernel_model.gfp import GFP_KERNEL

from scenarios.workloads.bugs.race_shared import setup_shared, shared, teardown_shared

setup = setup_shared


def process(k):
    slot = shared(k)
    if slot is None:
        return
    if k.cpu == 0:
        new = k.kmalloc(64, GFP_KERNEL)
        if new is None:
            return
        k.write(new, b"payload!")
        k.spin_lock("slot_lock")
        old = k.READ_ONCE(slot)
        k.WRITE_ONCE(slot, new)
        k.spin_unlock("slot_lock")
        if old:
            k.kfree(old)
    else:
        k.spin_lock("slot_lock")
        obj = k.READ_ONCE(slot)
        if obj:
            k.read(obj, 8)
        k.spin_unlock("slot_lock")


def teardown(k):
    slot = shared(k)
    if k.cpu == 0 and slot:
        old = k.READ_ONCE(slot)
        if old:
            k.kfree(old)
    teardown_shared(k)
