"""Correct twin of workload_error: the handler checks for NULL before using the object."""

from kernel_model.gfp import GFP_ATOMIC, __GFP_NOWARN


def process(k):
    k.cond_resched()


def hardirq(k):
    obj = k.kmalloc(64, GFP_ATOMIC | __GFP_NOWARN) if k.rng.random() < 0.5 else None
    if obj is None:
        return
    k.write(obj, b"\x01")
    k.kfree(obj)
