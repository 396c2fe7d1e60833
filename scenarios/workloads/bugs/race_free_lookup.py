"""Free while a lockless lookup still reads: CPU 0 replaces the object in a shared
slot and frees the old one at once; another CPU that loaded the old pointer
(READ_ONCE) just before is still reading it -- a use-after-free whenever the
free lands between its load and its read."""

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
        old = k.READ_ONCE(slot)
        k.WRITE_ONCE(slot, new)
        if old:
            k.kfree(old)                            # BUG: a reader may still use it
    else:
        obj = k.READ_ONCE(slot)
        if obj:
            k.read(obj, 8)


def teardown(k):
    slot = shared(k)
    if k.cpu == 0 and slot:
        old = k.READ_ONCE(slot)
        if old:
            k.kfree(old)
    teardown_shared(k)
