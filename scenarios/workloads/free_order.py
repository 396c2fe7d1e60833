"""free-order: allocate a batch, free it in LIFO, FIFO (its reverse) or random order.

Each process-context step allocates a batch of ``BATCH`` objects -- kmalloc
of one size class, a dedicated cache's objects or order-0/1 pages, taking
turns -- and frees the whole batch in one of three orders, taking turns:
``lifo`` (last allocated, first freed: the per-CPU freelist's best case),
``fifo`` (allocation order, the reverse of LIFO) and ``random``.  Counts per
order go to the per-CPU variables ``free_order_<order>``.
"""

from kernel_model.gfp import GFP_KERNEL

from .common import check, fill

BATCH = 48
ORDERS = ("lifo", "fifo", "random")
KINDS = ("kmalloc", "cache", "pages")
cache = None
n = 0


def setup(k):
    global cache
    cache = k.kmem_cache_create(f"free_order_obj-{k.cpu}", 120)


def _alloc(k, kind, size):
    if kind == "kmalloc":
        addr = k.kmalloc(size, GFP_KERNEL)
    elif kind == "cache":
        addr = k.kmem_cache_alloc(cache, GFP_KERNEL)
    else:
        page = k.alloc_pages(GFP_KERNEL, size)
        return None if page is None else page
    if addr is not None:
        fill(k, addr, 120 if kind == "cache" else size)
    return addr


def _free(k, kind, obj, size):
    if kind == "kmalloc":
        check(k, obj, size, "free")
        k.kfree(obj)
    elif kind == "cache":
        check(k, obj, 120, "free")
        k.kmem_cache_free(cache, obj)
    else:
        getattr(k, "__free_pages")(obj, size)


def process(k):
    global n
    order, kind = ORDERS[n % 3], KINDS[(n // 3) % 3]
    n += 1
    size = k.rng.choice((16, 64, 256, 1024)) if kind == "kmalloc" else k.rng.randint(0, 1)
    if kind == "cache" and cache is None:
        return
    batch = [o for o in (_alloc(k, kind, size) for _ in range(BATCH)) if o is not None]
    if order == "lifo":
        batch.reverse()
    elif order == "random":
        k.rng.shuffle(batch)
    for obj in batch:
        _free(k, kind, obj, size)
    k.this_cpu_inc(f"free_order_{order}")


def teardown(k):
    if cache is not None:
        k.kmem_cache_destroy(cache)
