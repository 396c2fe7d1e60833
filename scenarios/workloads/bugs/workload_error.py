"""A hardirq handler dereferences the result of an allocation without checking for NULL."""

from kernel_model.gfp import GFP_ATOMIC, __GFP_NOWARN


def process(k):
    k.cond_resched()


def hardirq(k):
    obj = k.kmalloc(64, GFP_ATOMIC | __GFP_NOWARN) if k.rng.random() < 0.5 else None
    k.write(obj or 0, b"\x01")           # BUG: NULL when the allocation "failed": Oops
    if obj:
        k.kfree(obj)
