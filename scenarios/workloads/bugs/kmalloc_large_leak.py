"""Large (page-backed) buffers kept in a cache that teardown forgets to free."""

from kernel_model.gfp import GFP_KERNEL

kept = []


def process(k):
    buf = k.kmalloc(k.rng.choice((20000, 40000)), GFP_KERNEL)
    if buf is None:
        return
    if k.rng.random() < 0.9 or len(kept) >= 4:
        k.kfree(buf)
        return
    kept.append(buf)


def teardown(k):
    kept.clear()                            # BUG: the buffers are forgotten, never kfree'd
