"""sheaf-prefill: allocating under a lock from a prefilled sheaf, as the maple tree does.

The maple tree (6.18+) knows before it takes its lock how many nodes a store
may need; it asks ``kmem_cache_prefill_sheaf`` for a sheaf holding that many,
takes the lock, allocates from the sheaf with ``kmem_cache_alloc_from_sheaf``
(which cannot fail while the sheaf has objects, and never sleeps), and gives
the sheaf back with ``kmem_cache_return_sheaf``.  Each CPU owns a
``maple_node`` cache (256-byte objects, ``sheaf_capacity`` 32); an iteration
prefills 1..``MAX_NEED`` (now and then more than the capacity: an oversize
sheaf), allocates all of them inside ``spin_lock_irqsave``, writes each
object's self-address pattern, and frees the oldest objects beyond
``KEEP`` after checking the pattern.  Hardirqs allocate from the same cache
with GFP_ATOMIC and free at once, through the per-CPU sheaves the prefill
and return paths also take.  A prefilled sheaf that runs dry early is a
workload error.  Needs ``[allocator] slab = "sheaves"``.
"""

from .common import check, fill

SIZE = 256
CAPACITY = 32
MAX_NEED = 40                # above CAPACITY: an oversize sheaf now and then
KEEP = 300
cache = None
held = []


def setup(k):
    global cache
    cache = k.kmem_cache_create("maple_node", SIZE, sheaf_capacity=CAPACITY)


def process(k):
    need = k.rng.randint(1, MAX_NEED)
    sheaf = k.kmem_cache_prefill_sheaf(cache, "GFP_KERNEL", need)
    if sheaf is None:                      # no memory for it: the caller backs off
        return
    got = []
    flags = k.spin_lock_irqsave("maple_tree")
    try:
        for _ in range(need):
            addr = k.kmem_cache_alloc_from_sheaf(cache, "GFP_NOWAIT", sheaf)
            if addr is None:
                raise AssertionError(f"kmem_cache_alloc_from_sheaf failed after {len(got)} of "
                                     f"the {need} objects the sheaf was prefilled with")
            got.append(addr)
    finally:
        k.spin_unlock_irqrestore("maple_tree", flags)
    k.kmem_cache_return_sheaf(cache, "GFP_KERNEL", sheaf)
    for addr in got:
        fill(k, addr, SIZE)
    held.extend(got)
    while len(held) > KEEP:
        addr = held.pop(0)
        check(k, addr, SIZE, "maple_node")
        k.kmem_cache_free(cache, addr)


def hardirq(k):
    if cache is None:
        return
    addr = k.kmem_cache_alloc(cache, "GFP_ATOMIC")
    if addr is not None:
        k.kmem_cache_free(cache, addr)


def teardown(k):
    global cache
    c, cache = cache, None                 # no hardirq uses it from here on
    for addr in held:
        check(k, addr, SIZE, "maple_node")
        k.kmem_cache_free(c, addr)
    held.clear()
    if not k.kmem_cache_destroy(c):
        raise AssertionError("kmem_cache_destroy(maple_node) found objects left")
