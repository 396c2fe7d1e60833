"""The classic SLAB's OFF_SLAB management: where a cache keeps its slabs' freelists.

Expected geometry, worked by hand from mm/slab.c of Linux 6.4-6.7 (the last
releases with SLAB; set_off_slab_cache, calculate_slab_order, cache_estimate,
alloc_slabmgmt, slab_destroy), for a 64M x86_64 machine with 4 KiB pages and
no slab debugging:

- slab_max_order = SLAB_MAX_ORDER_HI = 1 (kmem_cache_init: more than 32 MiB of
  RAM); sizeof(freelist_idx_t) = 2 (FREELIST_BYTE_INDEX is 0 with 4 KiB pages:
  PAGE_SIZE >> 8 = 16 > SLAB_OBJ_MIN_SIZE = 8 -- the model always uses u16);
  KMALLOC_MAX_CACHE_SIZE = 8192 in the model (its kmalloc classes stop at
  2 * PAGE_SIZE); kmalloc_slab(n) is the smallest kmalloc-N with N >= n
  (kmalloc-8 for 2 bytes, size_index[0]).
- __kmem_cache_create tries set_off_slab_cache first (the model has no
  OBJFREELIST_SLAB, which the kernel would try before it for caches without a
  ctor: it sizes slabs with the same cache_estimate as OFF_SLAB, so num and
  order below are the kernel's either way), then set_on_slab_cache.

objsize 4096: off-slab order 0: num = 4096 / 4096 = 1, left = 0; freelist 2
  bytes -> kmalloc-8 (on-slab, 8 <= 4096 / 2): accepted; left * 8 <= 4096:
  stop.  left 0 < 1 * 2: OFF_SLAB, num 1, order 0, colour 0.  (On-slab it
  would be order 1: 8192 / 4098 = 1 object and 4094 bytes wasted.)
objsize 2048: order 0: num 2, left 0, freelist 4 -> kmalloc-8: OFF_SLAB,
  num 2, order 0 (on-slab: 3 objects in order 1).
objsize 256: order 0: num 16, left 0, freelist 32 -> kmalloc-32 (32 <= 128):
  OFF_SLAB, num 16, order 0.
objsize 600: off-slab order 0: num 6, left 496, freelist 12 -> kmalloc-16:
  accepted, 496 * 8 <= 4096: stop; but left 496 >= 6 * 2: the array fits in
  the left-over space, so set_off_slab_cache declines ("move it on-slab").
  On-slab: 4096 / 602 = 6, left 4096 - 3612 = 484, colour 484 / 64 = 7.
objsize 100 (size 104): off-slab order 0: num 39, freelist 78 -> kmalloc-96,
  96 > 104 / 2: no benefit, next order; every order's array needs a kmalloc
  object bigger than half an object (order 10: 40329 objects, an 80658-byte
  array > KMALLOC_MAX_CACHE_SIZE: a 128 KiB page block), so num stays 0 and
  the cache is on-slab: 4096 / 106 = 38 objects, left 68, colour 1,
  freelist_size 76 at the slab's end.
"""

import numpy as np

import kernel_model as km
from kernel_model import slab as slab_mod, slab_common as sc, slabinfo
from kernel_model.kmalloc import KMALLOC_NORMAL, kmalloc_index

# objsize -> (off_slab, objects, order, colour), from the docstring
KERNEL_GEOMETRY = {4096: (True, 1, 0, 0), 2048: (True, 2, 0, 0), 256: (True, 16, 0, 0),
                   600: (False, 6, 0, 7), 100: (False, 38, 0, 1)}


def _boot():
    return km.boot(total="64M", nr_cpus=2, page_data=True, slab="slab", slub_debug=False)


def _ctor(obj):
    pass


def test_geometry_matches_the_kernel():
    with _boot():
        for size, want in KERNEL_GEOMETRY.items():
            c = km.kmem_cache_create(f"geo-{size}", size, ctor=_ctor)
            got = (bool(c.off_slab), c.objects, c.order, c.colour)
            assert got == want, f"objsize {size}: {got} != kernel {want}"
            assert c.freelist_size == c.objects * slab_mod.IDX_SIZE


def test_pure_sizing_functions():
    page = 4096
    kmalloc = {8: 8, 16: 16, 32: 32, 64: 64, 96: 96, 128: 128, 192: 192, 256: 256}

    def lookup(n):
        size = next((k for k in sorted(kmalloc) if k >= n), None)
        return None if size is None else (size, False)
    assert slab_mod.cache_estimate(0, 4096, page, slab_mod.CFLGS_OFF_SLAB) == (1, 0)
    assert slab_mod.cache_estimate(0, 4096, page) == (0, 4096)
    assert slab_mod.set_off_slab_cache(4096, 0, page, 1, lookup, 8192) == (1, 0, 0)
    assert slab_mod.set_off_slab_cache(600, 0, page, 1, lookup, 8192) is None
    # A freelist cache that is itself off-slab would loop in cache_grow: refused.
    assert slab_mod.set_off_slab_cache(4096, 0, page, 1, lambda n: (8, True), 8192) is None
    # Before the kmalloc cache exists (boot), the order is skipped, not taken.
    assert slab_mod.set_off_slab_cache(4096, 0, page, 1, lambda n: None, 8192) is None


def _kmalloc_cache(node, n):
    return node.slab.kmalloc_caches[(KMALLOC_NORMAL, kmalloc_index(n))]


def _held(c):
    """Objects of ``c`` handed out and not given back (its allocation/free counters:
    slabinfo's active_objs would count the array caches' objects too)."""
    st = sc.slab_stats(c)
    return (st["alloc_fastpath"] + st["alloc_slowpath"]
            - st["free_fastpath"] - st["free_slowpath"])


def test_offslab_freelist_is_a_kmalloc_object_freed_with_the_slab():
    with _boot() as node:
        c = km.kmem_cache_create("big", 4096, ctor=_ctor)
        assert c.off_slab
        k8 = _kmalloc_cache(node, c.freelist_size)
        before = _held(k8)
        objs = [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(10)]
        heads = {sc.virt_to_slab(node, o) for o in objs}
        assert len(heads) >= 10                 # one object a slab
        for h in heads:
            fl = node.mem_map.slab_freelist[h]
            start = node.page_offset + (h << node.page_shift)
            assert not start <= fl < start + c.slab_bytes     # not on the slab
            assert sc.virt_to_slab(node, fl) is not None       # a kmalloc object
        # kmalloc-8 gave one index array per slab (the array cache may hold more
        # objects than the ten handed out: count the slabs, not the objects).
        nr_slabs = slab_mod.slabinfo_counts(c)[3]
        assert _held(k8) - before == nr_slabs
        assert sc.check_slabs(node, objs) == []
        line = next(l for l in slabinfo.slabinfo().splitlines() if l.startswith("big "))
        assert line.split()[3:6] == ["4096", "1", "1"]       # objsize objperslab pagesperslab
        for o in objs:
            km.kmem_cache_free(c, o)
        km.kmem_cache_destroy(c)
        assert _held(k8) == before            # slab_destroy kfree'd every array
        assert sc.check_slabs(node, []) == []


def test_onslab_freelist_stays_at_the_slab_end():
    with _boot() as node:
        c = km.kmem_cache_create("small", 100, ctor=_ctor)
        assert not c.off_slab
        o = km.kmem_cache_alloc(c, km.GFP_KERNEL)
        h = sc.virt_to_slab(node, o)
        start = node.page_offset + (h << node.page_shift)
        assert node.mem_map.slab_freelist[h] == start + c.slab_bytes - c.freelist_size
        line = next(l for l in slabinfo.slabinfo().splitlines() if l.startswith("small "))
        assert line.split()[3:6] == ["104", "38", "1"]
        km.kmem_cache_free(c, o)
        assert sc.check_slabs(node, []) == []


def _pages_in_use(node):
    return int(np.count_nonzero(np.frombuffer(node.mem_map.ref, dtype=np.int32) > 0))


def test_grow_fails_cleanly_when_the_freelist_cannot_be_had():
    """alloc_slabmgmt failing gives the slab's pages back (opps1): nothing leaks."""
    with _boot() as node:
        c = km.kmem_cache_create("big2", 4096, ctor=_ctor)
        in_use = _pages_in_use(node)
        k8 = _kmalloc_cache(node, c.freelist_size)
        km.debug.hooks.should_failslab = lambda name, gfp: name == k8.name
        try:
            assert km.kmem_cache_alloc(c, km.GFP_KERNEL) is None
        finally:
            del km.debug.hooks.should_failslab
        assert slab_mod.slabinfo_counts(c)[3] == 0
        assert _pages_in_use(node) == in_use      # the slab's page went back
        assert km.kmem_cache_alloc(c, km.GFP_KERNEL) is not None
