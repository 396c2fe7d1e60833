"""memory-pressure: small memory run past its watermarks, with a shrinker giving pages back.

    process  grows a page "cache" with GFP_KERNEL until the zone crosses its
             watermarks; direct reclaim then calls this CPU's shrinker
             (register_shrinker), which frees cached pages -- reclaim makes
             progress and the allocation succeeds.  Now and then a
             GFP_KERNEL|__GFP_NOFAIL page, which must never be NULL (it retries).
    hardirq  GFP_ATOMIC pages: may dip into the reserves below WMARK_MIN
             (ALLOC_MIN_RESERVE | ALLOC_NON_BLOCK); a NULL is handled and counted
    softirq  GFP_NOWAIT|__GFP_NOWARN pages: no reserves, no reclaim -- these fail
             under pressure and the failure is handled and counted

Per-CPU variables: ``shrinker_calls``, ``shrinker_freed``, ``nofail_ok``,
``atomic_ok`` / ``atomic_failed``, ``nowait_ok`` / ``nowait_failed``.
"""

import kernel_model as km
from kernel_model import pgdat as _pgdat
from kernel_model.gfp import GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT, __GFP_NOFAIL, __GFP_NOWARN

cache = []                  # process context's pages (the shrinker's to take back)
irq_held = {"hardirq": [], "softirq": []}
stats = {"shrinker_calls": 0, "shrinker_freed": 0}
MAX_IRQ_HELD = 16


def shrink(nr_to_scan):
    """The shrinker: runs in this CPU's direct reclaim, process context."""
    stats["shrinker_calls"] += 1
    freed = 0
    while cache and freed < nr_to_scan:
        getattr(km, "__free_pages")(cache.pop(0), 0)
        freed += 1
    stats["shrinker_freed"] += freed
    return freed


def setup(k):
    km.register_shrinker(_pgdat.current(), shrink)
    for name in ("nofail_ok", "atomic_ok", "atomic_failed", "nowait_ok", "nowait_failed",
                 "shrinker_calls", "shrinker_freed"):
        k.this_cpu_write(name, 0)


def process(k):
    for _ in range(4):
        page = k.alloc_pages(GFP_KERNEL, 0)
        if page is not None:
            cache.append(page)
    if k.rng.random() < 0.05:
        page = k.alloc_pages(GFP_KERNEL | __GFP_NOFAIL, 0)
        if page is None:
            raise AssertionError("alloc_pages(GFP_KERNEL|__GFP_NOFAIL, 0) returned NULL")
        k.this_cpu_inc("nofail_ok")
        getattr(k, "__free_pages")(page, 0)
    if cache and k.rng.random() < 0.3:
        getattr(k, "__free_pages")(cache.pop(k.rng.randrange(len(cache))), 0)
    for name in ("shrinker_calls", "shrinker_freed"):
        k.this_cpu_write(name, stats[name])


def _irq_step(k, gfp, name):
    mine = irq_held[k.context]
    if len(mine) >= MAX_IRQ_HELD or mine and k.rng.random() < 0.4:
        getattr(k, "__free_pages")(mine.pop(), 0)
        return
    page = k.alloc_pages(gfp, 0)
    if page is None:
        k.this_cpu_inc(f"{name}_failed")           # handled: the packet is dropped
    else:
        k.this_cpu_inc(f"{name}_ok")
        mine.append(page)


def hardirq(k):
    _irq_step(k, GFP_ATOMIC | __GFP_NOWARN, "atomic")
    k.raise_softirq()


def softirq(k):
    _irq_step(k, GFP_NOWAIT | __GFP_NOWARN, "nowait")


def teardown(k):
    km.unregister_shrinker(_pgdat.current(), shrink)
    for page in cache:
        getattr(k, "__free_pages")(page, 0)
    cache.clear()
    for mine in irq_held.values():
        while mine:
            getattr(k, "__free_pages")(mine.pop(), 0)
