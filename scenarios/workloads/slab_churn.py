"""slab-churn: task_struct- and inode-like caches with constructors, shrunk under pressure.

Each CPU creates its two caches (a constructor is a function of this CPU's
process, so every CPU owns its pair): ``task_struct`` objects (9792 bytes,
order-3 slabs, as x86_64 6.12) and ``inode_cache`` objects (600 bytes)
whose constructor writes the "initialised once" state (inode_init_once).
Objects come back from kmem_cache_alloc constructed -- checked every time --
and are freed in that state, the rule for caches with a constructor.  The
working set swells to ``PEAK`` objects and collapses to a few, and after
each collapse kmem_cache_shrink gives the empty slabs back
(``shrunk_pages``), as reclaim does under pressure.
"""

from kernel_model import kmem_cache_shrink
from kernel_model.gfp import GFP_KERNEL

from .common import pattern

CACHES = {"task_struct": 9792, "inode_cache": 600}
PEAK = 200
ctor_state = {}          # cache name -> the bytes its constructor writes
caches = {}
held = []                # (name, addr)
growing = True
_k = None


def _ctor_for(name):
    def ctor(obj):
        _k.write(obj, pattern(0x1A0DE, 32, salt=len(name)))
    return ctor


def setup(k):
    global _k
    _k = k
    for name, size in CACHES.items():
        ctor_state[name] = pattern(0x1A0DE, 32, salt=len(name))
        caches[name] = k.kmem_cache_create(name, size, 0, 0, _ctor_for(name))
    k.this_cpu_write("shrunk_pages", 0)


def process(k):
    global growing
    if growing:
        name = k.rng.choice(tuple(CACHES))
        addr = k.kmem_cache_alloc(caches[name], GFP_KERNEL)
        if addr is not None:
            if k.read(addr, 32) != ctor_state[name]:
                raise AssertionError(f"{name} object {addr:#x} is not in its constructed state")
            held.append((name, addr))
        growing = len(held) < PEAK
        return
    for _ in range(8):
        if len(held) <= PEAK // 10:
            growing = True
            for s in caches.values():
                k.this_cpu_add("shrunk_pages", kmem_cache_shrink(s) or 0)   # k has no shrink yet
            break
        name, addr = held.pop(k.rng.randrange(len(held)))
        k.kmem_cache_free(caches[name], addr)


def teardown(k):
    for name, addr in held:
        k.kmem_cache_free(caches[name], addr)
    held.clear()
    for s in caches.values():
        k.kmem_cache_destroy(s)
    caches.clear()
