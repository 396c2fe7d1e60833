"""vfree() of kmalloc memory (a buffer that is sometimes vmalloc'ed, sometimes
kmalloc'ed, always released with vfree)."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    size = k.rng.choice((512, 16384))
    buf = k.kmalloc(size, GFP_KERNEL) if size <= 4096 else k.vmalloc(size)
    if buf is None:
        return
    k.vfree(buf)                          # BUG: kmalloc memory goes to kfree (or kvfree)
    if size <= 4096:
        k.kfree(buf)
