"""Publish before init: CPU 0 stores the pointer to a new object in the shared
slot (WRITE_ONCE) and only then writes the object's contents; another CPU that
loads the pointer (READ_ONCE) reads the object while it is being initialised
(and may see it uninitialised)."""

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
        k.WRITE_ONCE(slot, obj)                     # BUG: published ...
        k.write(obj, MAGIC)                         # ... before it is initialised
    else:
        obj = k.READ_ONCE(slot)
        if obj:
            k.read(obj, 8)


def teardown(k):
    for obj in _made:
        k.kfree(obj)
    teardown_shared(k)
