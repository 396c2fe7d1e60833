"""Correct twin of race_publish: initialise, then publish (WRITE_ONCE after the
writes); the reader finds only initialised objects."""

from kernel_model.gfp import GFP_KERNEL

from scenarios.workloads.bugs.race_shared import setup_shared, shared, teardown_shared

MAGIC = b"initdone"
MAX_OBJS = 2000
setup = setup_shared
_made = []


def process(k):
    slot = shared(k)
    if slot is None:
        return
    if k.cpu == 0:
        if len(_made) >= MAX_OBJS:
            return
        obj = k.kmalloc(64, GFP_KERNEL)
        if obj is None:
            return
        _made.append(obj)
        k.write(obj, MAGIC)
        k.WRITE_ONCE(slot, obj)
    else:
        obj = k.READ_ONCE(slot)
        if obj and k.read(obj, 8) != MAGIC:
            raise AssertionError("read an object before its initialisation")


def teardown(k):
    for obj in _made:
        k.kfree(obj)
    teardown_shared(k)
