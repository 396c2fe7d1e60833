"""A cache of recent objects that teardown drops without freeing them.

kmemleak reports unreferenced objects only: while ``recent`` still lists an
object, it is referenced.  Teardown empties the list without freeing what
was in it, so the last reference is gone and the objects are leaked.
"""

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
    recent.clear()                        # BUG: the references are dropped, the objects never freed
