"""NUMA nodes: the topology, one set of zones per node, zonelists in build_zonelists'
order, node-local allocation with fallback, __GFP_THISNODE, numastat, /proc per node."""

import re

import pytest

import kernel_model as km
from kernel_model import (extfrag, invariants, procfs, sheaves as sv, slab as slab_mod,
                          slab_common as sc, slub)
from kernel_model.numa import NumaTopology
from kernel_model.pgdat import ZONELIST_FALLBACK, ZONELIST_NOFALLBACK

MiB = 1 << 20
PAGES_64M = 64 * MiB // 4096


def _nodes_of(zonelist):
    return [z.nid for z in zonelist]


# -- topology ------------------------------------------------------------------------
def test_even_split_of_pages_and_cpus():
    t = NumaTopology(PAGES_64M, 4096, 4, nodes=2)
    assert t.node_spans == [(0, PAGES_64M // 2), (PAGES_64M // 2, PAGES_64M // 2)]
    assert t.cpu_to_node == [0, 0, 1, 1]
    assert t.distance == [[10, 20], [20, 10]]


def test_node_sizes_and_cpus_per_node():
    t = NumaTopology(PAGES_64M, 4096, 3, nodes=[16 * MiB, 48 * MiB], cpus_per_node=[1, 2])
    assert t.node_spans == [(0, 4096), (4096, 12288)]
    assert t.cpu_to_node == [0, 1, 1]
    assert t.pfn_to_nid(4095) == 0 and t.pfn_to_nid(4096) == 1


def test_one_node_is_the_uma_machine():
    t = NumaTopology(PAGES_64M, 4096, 2)
    assert t.node_spans == [(0, PAGES_64M)] and t.cpu_to_node == [0, 0]
    assert t.node_orders() == [[0]]


def test_node_order_follows_distance_then_load():
    # node 0 is near 2 and far from 1; node 1 near 3
    d = [[10, 30, 15, 30], [30, 10, 30, 15], [15, 30, 10, 30], [30, 15, 30, 10]]
    t = NumaTopology(PAGES_64M, 4096, 4, nodes=4, distance=d)
    orders = t.node_orders()
    assert [o[:2] for o in orders] == [[0, 2], [1, 3], [2, 0], [3, 1]]
    assert all(sorted(o) == [0, 1, 2, 3] for o in orders)
    # equal distances: the nodes above come before the nodes below ("prefer the next node")
    t = NumaTopology(PAGES_64M, 4096, 3, nodes=3)
    assert t.node_orders()[1] == [1, 2, 0]


@pytest.mark.parametrize("kw, words", [
    ({"nodes": 0}, "between 1 and"),
    ({"nodes": 9}, "between 1 and"),
    ({"nodes": [32 * MiB, 16 * MiB]}, "add up to"),
    ({"nodes": [32 * MiB + 4096, 32 * MiB - 4096]}, "multiple of"),
    ({"nodes": 2, "cpus_per_node": [1, 2]}, "adds up to 3"),
    ({"nodes": 2, "cpus_per_node": [2]}, "one per node"),
    ({"nodes": 2, "distance": [[10, 20]]}, "2 x 2"),
    ({"nodes": 2, "distance": [[12, 20], [20, 10]]}, "LOCAL_DISTANCE"),
    ({"nodes": 2, "distance": [[10, 5], [20, 10]]}, "above 10"),
])
def test_bad_topologies_say_what_is_wrong(kw, words):
    with pytest.raises(km.ConfigError, match=words):
        NumaTopology(PAGES_64M, 4096, 2, **kw)


# -- zones and zonelists ---------------------------------------------------------------
def test_each_node_has_its_own_zones_cut_from_the_architectures():
    layout = km.MemoryLayout(arch="x86_32", total=1024 * MiB)
    with km.boot(layout, nr_cpus=2, nodes=2) as node:
        n0, n1 = node.node_data
        populated = [[z.name for z in nd.node_zones if z.populated()] for nd in node.node_data]
        assert populated == [["DMA", "Normal"], ["Normal", "HighMem"]]
        assert sum(z.managed_pages() for z in node.zones) == node.nr_pages
        assert n1.node_zones[2].zone_start_pfn == n1.node_start_pfn == node.nr_pages // 2
        zi = procfs.zoneinfo(node)
        assert re.findall(r"^Node (\d), zone\s+(\S+)$", zi, re.M) == [
            ("0", "DMA"), ("0", "Normal"), ("0", "HighMem"), ("0", "Movable"),
            ("1", "DMA"), ("1", "Normal"), ("1", "HighMem"), ("1", "Movable")]
        bi = procfs.buddyinfo(node)
        assert re.findall(r"^Node (\d), zone\s+(\S+)", bi, re.M) == [
            ("0", "DMA"), ("0", "Normal"), ("1", "Normal"), ("1", "HighMem")]
        assert invariants.check_page_allocator(node) == []


def test_zonelists_local_node_first_then_by_distance():
    with km.boot(total="64M", nr_cpus=2, nodes=2) as node:
        n0, n1 = node.node_data
        normal = km.gfp_zone(km.GFP_KERNEL, False, True)     # no Normal memory in 64M
        assert [(z.nid, z.name) for z in n0.node_zonelists[ZONELIST_FALLBACK][normal]] == [
            (0, "DMA32"), (0, "DMA"), (1, "DMA32")]
        assert [(z.nid, z.name) for z in n1.node_zonelists[ZONELIST_FALLBACK][normal]] == [
            (1, "DMA32"), (0, "DMA32"), (0, "DMA")]
        assert _nodes_of(n1.node_zonelists[ZONELIST_NOFALLBACK][normal]) == [1]


# -- allocation ----------------------------------------------------------------------
def _drain_node(node, nid, gfp):
    """Allocate on ``nid`` with __GFP_THISNODE until it fails; returns the pages."""
    pages = []
    while True:
        page = km.alloc_pages_node(nid, gfp | km.__GFP_THISNODE, 0)
        if page is None:
            return pages
        pages.append(page)


def test_local_node_first_then_fallback_with_numastat():
    with km.boot(total="64M", nr_cpus=2, nodes=2) as node:
        gfp = km.GFP_NOWAIT | km.__GFP_NOWARN
        km.context.set_this_cpu(km.context.CPU(1))          # CPU 1 is on node 1
        assert km.numa_node_id() == 1
        page = km.alloc_pages(gfp, 0)
        assert km.page_to_nid(page) == 1
        stat = procfs.numastat_counts(node, 1)
        assert stat["numa_hit"] == 1 and stat["local_node"] == 1 and stat["numa_miss"] == 0
        held = _drain_node(node, 1, gfp)
        # node 1 is now at its watermarks: local allocations go to node 0, counted as misses
        free_before = node.node_data[1].free_pages()
        page2 = km.alloc_pages(gfp, 0)
        assert km.page_to_nid(page2) == 0
        assert node.node_data[1].free_pages() == free_before
        s0, s1 = procfs.numastat_counts(node, 0), procfs.numastat_counts(node, 1)
        assert s0["numa_miss"] == 1 and s0["other_node"] == 1
        assert s1["numa_foreign"] == 1
        for p in held + [page, page2]:
            km.__free_pages(p, 0)
        assert invariants.check_page_allocator(node) == []


def test_thisnode_never_falls_back():
    with km.boot(total="64M", nr_cpus=2, nodes=2) as node:
        gfp = km.GFP_NOWAIT | km.__GFP_NOWARN
        held = _drain_node(node, 0, gfp)
        assert held and all(km.page_to_nid(p) == 0 for p in held)
        assert node.node_data[1].free_pages() == node.node_data[1].node_zones[1].managed_pages()
        assert km.alloc_pages_node(0, gfp | km.__GFP_THISNODE, 0) is None
        assert km.page_to_nid(km.alloc_pages_node(0, gfp, 0)) == 1     # without it: node 1
        assert procfs.numastat_counts(node, 1)["numa_miss"] == 1


def test_alloc_pages_node_on_a_missing_node_is_the_callers_bug():
    with km.boot(total="64M", nr_cpus=1, nodes=2):
        with pytest.raises(ValueError, match="node 2 is not online"):
            km.alloc_pages_node(2, km.GFP_KERNEL, 0)


def test_one_node_keeps_no_numastat_and_vmstat_has_no_numa_lines():
    with km.boot(total="64M", nr_cpus=2) as node:
        page = km.alloc_pages(km.GFP_KERNEL, 0)
        assert km.page_to_nid(page) == 0 and node.nr_nodes == 1
        assert set(procfs.numastat_counts(node, 0).values()) == {0}     # !CONFIG_NUMA
        assert "numa_hit" not in procfs.vmstat(node)
    with km.boot(total="64M", nr_cpus=2, nodes=2) as node:
        km.alloc_pages(km.GFP_KERNEL, 0)
        assert "numa_hit 1\n" in procfs.vmstat(node)


# -- SLUB's per-node lists -------------------------------------------------------------
def _nid(node, addr):
    return node.page_to_nid(node.virt_to_pfn(addr))


def test_slub_remote_free_goes_to_the_owning_nodes_lists():
    with km.boot(total="64M", nr_cpus=2, nodes=2, page_data=True, slab="slub") as node:
        s = km.kmem_cache_create("numa_obj", 256)
        km.context.set_this_cpu(km.context.CPU(1))
        objs = [km.kmem_cache_alloc(s, km.GFP_KERNEL) for _ in range(100)]
        assert {_nid(node, a) for a in objs} == {1}
        km.context.set_this_cpu(km.context.CPU(0))
        for a in objs[:-1]:                    # keep one: its slab stays on a list
            km.kmem_cache_free(s, a)
        slub.flush_all(s)
        n0, n1 = s.node
        kn = node.slab.node
        assert kn[n0.base + sc.KN_NR_SLABS] == kn[n0.base + sc.KN_NR_PARTIAL] == 0
        assert kn[n1.base + sc.KN_NR_SLABS] >= 1 and kn[n1.base + sc.KN_NR_PARTIAL] >= 1
        assert slub.check_cache(s) == [] and sc.check_slabs(node, [objs[-1]]) == []
        # CPU 0 allocates again: its own node first, not node 1's partial slabs
        assert _nid(node, km.kmem_cache_alloc(s, km.GFP_KERNEL)) == 0


def test_kmalloc_node_and_kmem_cache_alloc_node():
    with km.boot(total="64M", nr_cpus=2, nodes=2, page_data=True, slab="slub") as node:
        s = km.kmem_cache_create("numa_obj", 512)
        local = km.kmem_cache_alloc(s, km.GFP_KERNEL)
        assert _nid(node, local) == 0
        remote = km.kmem_cache_alloc_node(s, km.GFP_KERNEL | km.__GFP_THISNODE, 1)
        assert _nid(node, remote) == 1
        assert sc.slab_stats(s)["alloc_node_mismatch"] == 1      # CPU 0's slab was node 0's
        assert _nid(node, km.kmalloc_node(100, km.GFP_KERNEL, 1)) == 1
        # NUMA_NO_NODE is no preference: node_match() takes the CPU slab whatever
        # its node, and kmalloc-128's CPU slab is now node 1's
        assert _nid(node, km.kmalloc_node(100, km.GFP_KERNEL, -1)) == 1
        assert _nid(node, km.kmalloc_node(64 << 10, km.GFP_KERNEL, 1)) == 1     # large kmalloc
        with pytest.raises(ValueError, match="node 3 is not online"):
            km.kmalloc_node(100, km.GFP_KERNEL, 3)
        assert slub.check_cache(s) == []


def test_slub_thisnode_fails_when_the_node_is_full_and_falls_back_without():
    with km.boot(total="64M", nr_cpus=2, nodes=2, page_data=True, slab="slub") as node:
        s = km.kmem_cache_create("big_obj", 4096)
        gfp = km.GFP_NOWAIT | km.__GFP_NOWARN
        held = []
        while True:
            a = km.kmem_cache_alloc_node(s, gfp | km.__GFP_THISNODE, 1)
            if a is None:
                break
            assert _nid(node, a) == 1
            held.append(a)
        assert len(held) > 1000                   # node 1 (32 MiB) filled to its watermarks
        other = km.kmem_cache_alloc_node(s, gfp, 1)
        assert other is not None and _nid(node, other) == 0
        for a in held + [other]:
            km.kmem_cache_free(s, a)
        slub.flush_all(s)
        assert slub.check_cache(s) == [] and sc.check_slabs(node, []) == []


# -- every allocator: slabs on their own node's lists -------------------------------------
ALLOCATORS = ["slub", "slab", "sheaves"]


@pytest.mark.parametrize("kind", ALLOCATORS)
def test_kmalloc_node_from_cpu_0_gives_node_1_memory(kind):
    with km.boot(total="64M", nr_cpus=2, nodes=2, page_data=True, slab=kind) as node:
        assert km.context.this_cpu.id == 0 and node.cpu_to_node(0) == 0
        s = km.kmem_cache_create("numa_obj", 256)
        for gfp in (km.GFP_KERNEL, km.GFP_KERNEL | km.__GFP_THISNODE):
            objs = [km.kmalloc_node(100, gfp, 1) for _ in range(50)]
            objs += [km.kmem_cache_alloc_node(s, gfp, 1) for _ in range(50)]
            assert {_nid(node, a) for a in objs} == {1}
        if kind != "slub":      # SLUB's NUMA_NO_NODE takes the CPU slab, now node 1's
            local = [km.kmem_cache_alloc(s, km.GFP_KERNEL) for _ in range(50)]
            assert {_nid(node, a) for a in local} == {0}
        assert node.slab.allocator.check_cache(s) == []


@pytest.mark.parametrize("kind", ALLOCATORS)
def test_remote_frees_land_on_the_owning_nodes_lists(kind):
    with km.boot(total="64M", nr_cpus=2, nodes=2, page_data=True, slab=kind) as node:
        alloc = node.slab.allocator
        s = km.kmem_cache_create("numa_obj", 256)
        km.context.set_this_cpu(km.context.CPU(1))
        objs = [km.kmem_cache_alloc(s, km.GFP_KERNEL) for _ in range(100)]
        assert {_nid(node, a) for a in objs} == {1}
        km.context.set_this_cpu(km.context.CPU(0))
        for a in objs[:-1]:                    # CPU 0 (node 0) frees them; keep one
            km.kmem_cache_free(s, a)
        assert alloc.check_cache(s) == [] and sc.check_slabs(node, [objs[-1]]) == []
        alloc.flush_all(s)
        n0, n1 = s.node
        kn = node.slab.node
        assert kn[n0.base + sc.KN_NR_SLABS] == 0 and kn[n1.base + sc.KN_NR_SLABS] >= 1
        assert alloc.check_cache(s) == [] and sc.check_slabs(node, [objs[-1]]) == []
        # CPU 0 allocates again: its own node first (node 1 keeps no more than
        # min_partial partial slabs, so SLUB and sheaves do not take them either)
        assert _nid(node, km.kmem_cache_alloc(s, km.GFP_KERNEL)) == 0


@pytest.mark.parametrize("kind", ALLOCATORS)
def test_thisnode_fails_when_the_node_is_full_and_falls_back_without(kind):
    with km.boot(total="64M", nr_cpus=2, nodes=2, page_data=True, slab=kind) as node:
        alloc = node.slab.allocator
        s = km.kmem_cache_create("big_obj", 4096)
        gfp = km.GFP_NOWAIT | km.__GFP_NOWARN
        held = []
        while True:
            a = km.kmem_cache_alloc_node(s, gfp | km.__GFP_THISNODE, 1)
            if a is None:
                break
            assert _nid(node, a) == 1
            held.append(a)
        assert len(held) > 1000                   # node 1 (32 MiB) filled to its watermarks
        other = km.kmem_cache_alloc_node(s, gfp, 1)
        assert other is not None and _nid(node, other) == 0
        for a in held + [other]:
            km.kmem_cache_free(s, a)
        alloc.flush_all(s)
        assert alloc.check_cache(s) == [] and sc.check_slabs(node, []) == []


@pytest.mark.parametrize("kind", ALLOCATORS)
def test_slabinfo_sums_the_nodes(kind):
    with km.boot(total="64M", nr_cpus=2, nodes=2, page_data=True, slab=kind) as node:
        alloc = node.slab.allocator
        s = km.kmem_cache_create("numa_obj", 256)
        held = []
        for cpu in (0, 1):
            km.context.set_this_cpu(km.context.CPU(cpu))
            held += [km.kmem_cache_alloc(s, km.GFP_KERNEL) for _ in range(30)]
        km.context.set_this_cpu(km.context.CPU(0))
        per_node = [node.slab.node[n.base + sc.KN_NR_SLABS] for n in s.node]
        assert min(per_node) >= 1
        active, total, _, slabs = alloc.slabinfo_counts(s)
        assert slabs == sum(per_node) and total == slabs * s.objects and active >= len(held)
        assert f" {slabs:6d} {slabs:6d} " in km.slabinfo.cache_show(s)


def test_slab_remote_free_goes_through_the_alien_cache():
    with km.boot(total="64M", nr_cpus=2, nodes=2, page_data=True, slab="slab") as node:
        s = km.kmem_cache_create("numa_obj", 256)
        km.context.set_this_cpu(km.context.CPU(1))
        objs = [km.kmem_cache_alloc(s, km.GFP_KERNEL) for _ in range(40)]
        free1 = node.slab.node[s.node[1].base + sc.KN_FREE_OBJECTS]
        km.context.set_this_cpu(km.context.CPU(0))
        for a in objs[:slab_mod.ALIEN_LIMIT]:
            km.kmem_cache_free(s, a)
        # all in node 0's alien cache for node 1; none on CPU 0's array cache
        assert sorted(slab_mod._alien_entries(s)) == sorted((0, 1, a) for a in objs[:12])
        assert node.slab.node[s.node[1].base + sc.KN_FREE_OBJECTS] == free1
        km.kmem_cache_free(s, objs[12])       # full: drained to node 1's lists first
        assert slab_mod._alien_entries(s) == [(0, 1, objs[12])]
        assert node.slab.node[s.node[1].base + sc.KN_FREE_OBJECTS] == free1 + 12
        assert slab_mod.check_cache(s) == [] and sc.check_slabs(node, objs[13:]) == []
        km.kmem_cache_shrink(s)               # drains the alien caches too
        assert slab_mod._alien_entries(s) == []
        assert slab_mod.check_cache(s) == [] and sc.check_slabs(node, objs[13:]) == []


def test_slab_one_node_never_uses_alien_caches():
    with km.boot(total="64M", nr_cpus=2, page_data=True, slab="slab") as node:
        s = km.kmem_cache_create("uma_obj", 256)
        assert not s.numa and s.alien_locks == []
        km.context.set_this_cpu(km.context.CPU(1))
        objs = [km.kmem_cache_alloc(s, km.GFP_KERNEL) for _ in range(40)]
        km.context.set_this_cpu(km.context.CPU(0))
        for a in objs:
            km.kmem_cache_free(s, a)
        assert slab_mod._alien_entries(s) == []
        a = s.ac_base                          # CPU 0's array cache took them all
        assert s.acv[a + slab_mod.AC_AVAIL] == 40
        k = km.kmalloc_node(100, km.GFP_KERNEL, 0)
        assert k is not None and _nid(node, k) == 0
        assert slab_mod.check_cache(s) == [] and sc.check_slabs(node, [k]) == []


def test_sheaves_keep_remote_objects_off_the_sheaves():
    with km.boot(total="64M", nr_cpus=2, nodes=2, page_data=True, slab="sheaves") as node:
        s = km.kmem_cache_create("numa_obj", 256)
        km.context.set_this_cpu(km.context.CPU(1))
        objs = [km.kmem_cache_alloc(s, km.GFP_KERNEL) for _ in range(100)]
        km.context.set_this_cpu(km.context.CPU(0))
        for a in objs:
            km.kmem_cache_free(s, a)
        main, spare = sv.pcs_sheaves(s, 0)
        assert sv.sheaf_size(s, main) == 0 and spare is None     # CPU 0's sheaves untouched
        assert sc.slab_stats(s)["free_slowpath"] == 100
        assert sv.barn_counts(s, 0) == (0, 0)
        assert sv.check_cache(s) == [] and sc.check_slabs(node, []) == []
        # CPU 0 asks for node 1: its sheaves are node 0's, the slab layer serves it
        b = km.kmem_cache_alloc_node(s, km.GFP_KERNEL, 1)
        assert _nid(node, b) == 1 and sc.slab_stats(s)["alloc_node_mismatch"] == 1


def test_sheaves_have_one_barn_per_node():
    with km.boot(total="64M", nr_cpus=2, nodes=2, page_data=True, slab="sheaves") as node:
        s = km.kmem_cache_create("numa_obj", 256)
        assert [b.nid for b in s.barns] == [0, 1] and s.barns[0].lock is not s.barns[1].lock
        for cpu in (0, 1):
            km.context.set_this_cpu(km.context.CPU(cpu))
            objs = [km.kmem_cache_alloc(s, km.GFP_KERNEL) for _ in range(4 * s.sheaf_capacity)]
            for a in objs:
                km.kmem_cache_free(s, a)
            assert sv.barn_counts(s, cpu)[0] >= 1      # full sheaves went to its own barn
        km.context.set_this_cpu(km.context.CPU(0))
        assert sv.check_cache(s) == [] and sc.check_slabs(node, []) == []


def test_more_nodes_and_cpus_than_the_lock_pool_holds_is_a_config_error():
    with pytest.raises(km.ConfigError, match="8 nodes x 32 CPUs need more spinlocks"):
        km.boot(total="256M", nr_cpus=32, nodes=8, page_data=True, slab="slub")
    with km.boot(total="256M", nr_cpus=16, nodes=8, page_data=True, slab="slub") as node:
        assert node.nr_nodes == 8 and invariants.check_page_allocator(node) == []


def test_extfrag_index_names_each_zones_node():
    with km.boot(total="64M", nr_cpus=2, nodes=2) as node:
        lines = extfrag.extfrag_index(node).splitlines()
    assert [ln.split(",")[0] for ln in lines] == ["Node 0", "Node 0", "Node 1"]
