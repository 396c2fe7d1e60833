"""A cache of recent objects that teardown forgets to free."""

from kernel_model.gfp import GFP_KERNEL

recent = []


def process(k):
    obj = k.kmalloc(k.rng.choice((48, 200)), GFP_KERNEL)
    if obj is None:
        return
    if k.rng.random() < 0.9:
        k.kfree(obj)
        return
    recent.append(obj)
    if len(recent) > 16:
        k.kfree(recent.pop(0))


def teardown(k):
    pass                                  # BUG: the objects in recent are never freed
