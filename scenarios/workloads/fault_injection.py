"""fault-injection: every allocation may fail (the scenario's [fault] section); all are handled.

Every context allocates through each door the injector guards -- kmalloc,
a dedicated cache, alloc_pages at orders 0-3, vmalloc in process context --
with gfp masks on both sides of the ignore-gfp-wait filter.  A NULL is
handled the kernel's way (a process iteration -- one "system call" of
``STEPS`` steps -- is what the scenario's fail-nth counts in; while it is
armed, should_fail_ex decides by it alone, so probability-driven failures
then come from interrupt context): counted (``fi_null``), nothing written, nothing
freed.  A __GFP_NOFAIL allocation must never come back NULL: injection
exempts it (mm/failslab.c, mm/fail_page_alloc.c), so NULL there is a
reported failure.  Live objects are counted (``fi_alloc`` / ``fi_free``):
teardown frees all, so the two sums match when nothing leaked.
"""

from kernel_model.gfp import GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT, __GFP_NOFAIL, __GFP_NOWARN

cache = None
held = {"process": [], "hardirq": [], "softirq": [], "tasklet": []}
MAX_HELD = {"process": 64, "hardirq": 8, "softirq": 16, "tasklet": 16}
PROCESS_GFP = (GFP_KERNEL, GFP_KERNEL | __GFP_NOWARN, GFP_NOWAIT | __GFP_NOWARN, GFP_ATOMIC)
STEPS = 4
IRQ_GFP = (GFP_ATOMIC, GFP_ATOMIC | __GFP_NOWARN, GFP_NOWAIT | __GFP_NOWARN)


def setup(k):
    global cache
    cache = k.kmem_cache_create(f"fi_obj-{k.cpu}", 200)
    for name in ("fi_alloc", "fi_free", "fi_null", "fi_nofail"):
        k.this_cpu_write(name, 0)


def _free(k, kind, obj, order):
    if kind == "kmalloc":
        k.kfree(obj)
    elif kind == "cache":
        k.kmem_cache_free(cache, obj)
    elif kind == "pages":
        getattr(k, "__free_pages")(obj, order)
    else:
        k.vfree(obj)
    k.this_cpu_inc("fi_free")


def _step(k, gfps):
    rng, mine = k.rng, held[k.context]
    if mine and (len(mine) >= MAX_HELD[k.context] or rng.random() < 0.45):
        _free(k, *mine.pop(rng.randrange(len(mine))))
        return
    gfp = rng.choice(gfps)
    kind = rng.choice(("kmalloc", "cache", "pages") + (("vmalloc",) if k.context == "process" else ()))
    order = 0
    if kind == "kmalloc":
        obj = k.kmalloc(rng.choice((16, 64, 256, 1024, 4096)), gfp)
    elif kind == "cache":
        obj = k.kmem_cache_alloc(cache, gfp) if cache is not None else None
    elif kind == "pages":
        order = rng.randint(0, 3)
        obj = k.alloc_pages(gfp, order)
    else:
        obj = k.vmalloc(rng.choice((4096, 16384, 65536)))
    if obj is None:
        k.this_cpu_inc("fi_null")                  # handled: nothing to use, nothing to free
        return
    k.this_cpu_inc("fi_alloc")
    if kind in ("kmalloc", "cache"):
        k.write(obj, b"\x5a" * 16)
    mine.append((kind, obj, order))


def process(k):
    for _ in range(STEPS):                         # one "system call": a few allocations
        _step(k, PROCESS_GFP)
    if k.rng.random() < 0.05:                      # __GFP_NOFAIL: never injected, never NULL
        page = k.alloc_pages(GFP_KERNEL | __GFP_NOFAIL, 0)
        if page is None:
            raise AssertionError("alloc_pages(GFP_KERNEL|__GFP_NOFAIL, 0) returned NULL")
        obj = k.kmalloc(64, GFP_KERNEL | __GFP_NOFAIL)
        if obj is None:
            raise AssertionError("kmalloc(64, GFP_KERNEL|__GFP_NOFAIL) returned NULL")
        k.this_cpu_inc("fi_nofail")
        getattr(k, "__free_pages")(page, 0)
        k.kfree(obj)


def hardirq(k):
    _step(k, IRQ_GFP)
    k.raise_softirq()
    k.tasklet_schedule()


def softirq(k):
    _step(k, IRQ_GFP)


def tasklet(k):
    _step(k, IRQ_GFP)


def teardown(k):
    for mine in held.values():
        while mine:
            _free(k, *mine.pop())
    if cache is not None:
        k.kmem_cache_destroy(cache)
