"""Correct twin of bad_vfree: kfree what kmalloc returned, vfree what vmalloc did."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    size = k.rng.choice((512, 16384))
    buf = k.kmalloc(size, GFP_KERNEL) if size <= 4096 else k.vmalloc(size)
    if buf is None:
        return
    if size <= 4096:
        k.kfree(buf)
    else:
        k.vfree(buf)
