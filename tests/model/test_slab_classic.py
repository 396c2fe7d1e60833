"""The classic SLAB: cache_estimate/order, colouring, the three lists, array caches."""

import kernel_model as km
from kernel_model import slab as slab_mod, slab_common as sc
from kernel_model.slab_common import KN_NR_FREE, KN_NR_SLABS, LIST_FREE, LIST_FULL, LIST_PARTIAL


def test_cache_estimate_and_order():
    # 4 KiB slab, 256-byte objects + a 2-byte index each: 15 objects, 226 bytes left.
    assert slab_mod.cache_estimate(0, 256, 4096) == (15, 4096 - 15 * 258)
    assert slab_mod.calculate_slab_order(1000, 0, 4096, 1) == (4, 0, 88)     # waste <= 1/8
    assert slab_mod.calculate_slab_order(1500, 0, 4096, 1) == (5, 1, 682)    # 1092 > 1/8: order 1
    assert slab_mod.calculate_slab_order(1500, 0, 4096, 0) == (2, 0, 1092)   # slab_max_order 0


def test_colouring_cycles_offsets():
    with km.boot(total="32M", page_data=True, slab="slab", slub_debug=False) as node:
        # 600-byte objects keep their freelist on the slab (6 objects leave 496 bytes,
        # room for the 12-byte index array: set_off_slab_cache declines), 484 bytes left.
        c = km.kmem_cache_create("col", 600)
        assert not c.off_slab
        assert c.colour == (4096 - c.objects * (c.size + 2)) // 64 == 7
        objs = [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(c.objects * (c.colour + 2))]
        heads = sorted({sc.virt_to_slab(node, o) for o in objs})
        offsets = [node.mem_map.private[h] for h in heads]
        assert offsets[:c.colour + 1] == [64 * i for i in range(c.colour)] + [0]
        for o in objs:
            km.kmem_cache_free(c, o)
        assert sc.check_slabs(node) == []


def _lists(node, c):
    st = node.slab
    out = {}
    for lid in (LIST_PARTIAL, LIST_FULL, LIST_FREE):
        out[lid] = []
        pfn = st.lhead[c.id * 3 + lid]
        while pfn != 0xFFFFFFFF:
            out[lid].append(pfn)
            pfn = node.mem_map.next[pfn]
    return out


def test_three_lists_and_array_cache():
    with km.boot(total="32M", page_data=True, slab="slab") as node:
        c = km.kmem_cache_create("three", 500)
        objs = [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(100)]
        assert len(set(objs)) == len(objs)
        # The refill took batchcount objects: slabs are full or partial, none free.
        lists = _lists(node, c)
        assert lists[LIST_FULL] and not lists[LIST_FREE]
        assert sc.check_slabs(node, objs) == []
        for o in objs:
            km.kmem_cache_free(c, o)
        st = sc.slab_stats(c)
        assert st["alloc_fastpath"] > 0 and st["alloc_slowpath"] > 0
        assert st["free_fastpath"] > 0 and st["free_slowpath"] > 0     # cache_flusharray
        assert sc.check_slabs(node) == []
        slab_mod.drain_cpu_cache(c, 0)
        lists = _lists(node, c)
        assert not lists[LIST_FULL] and not lists[LIST_PARTIAL]
        assert node.slab.node[c.node_base + KN_NR_FREE] == len(lists[LIST_FREE])
        assert km.kmem_cache_shrink(c) > 0
        assert node.slab.node[c.node_base + KN_NR_SLABS] == 0
        assert km.kmem_cache_destroy(c)
