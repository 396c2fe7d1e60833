"""Correct twin of kmalloc_large_leak: teardown frees what the cache kept."""

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
    while kept:
        k.kfree(kept.pop())
