"""Correct twin of irq_shared_free: take the pointer with interrupts off, so
exactly one context frees it."""

from kernel_model.gfp import GFP_ATOMIC

shared = [None]


def process(k):
    obj = k.kmalloc(64, GFP_ATOMIC)
    if obj is None:
        return
    shared[0] = obj
    flags = k.local_irq_save()
    q, shared[0] = shared[0], None
    k.local_irq_restore(flags)
    if q is not None:
        k.kfree(q)


def hardirq(k):
    q, shared[0] = shared[0], None        # interrupts are off in a hardirq
    if q is not None:
        k.kfree(q)
