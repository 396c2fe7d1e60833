"""The per-CPU TLB model (kernel_model/tlb.py) and vmalloc's lazy purge that flushes it."""

import importlib

import pytest

import kernel_model as km
from kernel_model import context, tlb
from kernel_model.errors import ConfigError

vm_mod = importlib.import_module("kernel_model.vmalloc")      # km.vmalloc is the function

CFG = tlb.ARCH_DEFAULTS["x86_64"]


def _boot(**kw):
    return km.boot(total="64M", nr_cpus=2, page_data=True, slab="slub", slub_debug=False,
                   tlb=True, **kw)


def _row(node, cpu):
    return tlb.snapshot(node)["by_cpu"][cpu]


def test_direct_map_large_pages_vmalloc_base_pages():
    with _boot() as node:
        t = tlb.TLB(node, 0, CFG)
        buf = km.kmalloc(64 << 10, km.GFP_KERNEL)          # 16 pages of direct map
        for off in range(0, 64 << 10, 4096):
            t.translate(buf + off, 8)
        r = _row(node, 0)
        assert r["large_misses"] <= 2 and r["small_misses"] == 0
        v = km.vmalloc(64 << 10)
        for off in range(0, 64 << 10, 4096):
            t.translate(v + off, 8)
        r = _row(node, 0)
        assert r["small_misses"] == 16                      # one entry a 4 KiB page
        for off in range(0, 64 << 10, 4096):               # 16 entries fit: all hits now
            t.translate(v + off, 8)
        assert _row(node, 0)["small_misses"] == 16
        assert _row(node, 0)["hits"] >= 16


def test_lru_capacity_and_page_spanning_access():
    with _boot() as node:
        small = tlb.TlbConfig(entries=4, large_entries=2, large_page=2 << 20)
        t = tlb.TLB(node, 0, small)
        v = km.vmalloc(8 * 4096)
        for _ in range(3):                                   # 5 pages round-robin in 4 entries
            for p in range(5):
                t.translate(v + p * 4096, 8)
        assert _row(node, 0)["misses"] == 15 and _row(node, 0)["hits"] == 0
        t.translate(v + 4096 - 4, 8)                         # straddles two pages: 2 lookups
        r = _row(node, 0)
        assert r["hits"] + r["misses"] == 17


def test_flush_generations_range_and_full():
    with _boot() as node:
        t = tlb.TLB(node, 1, CFG)
        v = km.vmalloc(4 * 4096)
        k = km.kmalloc(128, km.GFP_KERNEL)
        for p in range(4):
            t.translate(v + p * 4096, 8)
        t.translate(k, 8)
        tlb.flush_tlb_kernel_range(node, v, v + 4096)        # one page: a range flush
        t.translate(v + 4096, 8)                             # outside the range: still cached
        t.translate(k, 8)
        r = _row(node, 1)
        assert r["flushes"] == 1 and r["misses"] == 5
        t.translate(v, 8)                                    # inside: flushed
        assert _row(node, 1)["misses"] == 6
        # Two generations behind: everything goes, counted as one flush.
        tlb.flush_tlb_kernel_range(node, v, v + 4096)
        tlb.flush_tlb_kernel_range(node, v, v + 4096)
        t.translate(k, 8)
        r = _row(node, 1)
        assert r["flushes"] == 2 and r["misses"] == 7
        # More than tlb_single_page_flush_ceiling pages: a full flush.
        tlb.flush_tlb_kernel_range(node, v, v + 40 * 4096)
        t.translate(k, 8)
        assert _row(node, 1)["misses"] == 8


def test_no_tlb_costs_nothing_and_flushes_are_noops():
    with km.boot(total="64M", nr_cpus=2, page_data=True, slab="slub", slub_debug=False) as node:
        assert node.tlb_flush is None and tlb.snapshot(node) is None
        assert not node.arena.has("tlb_stat")
        tlb.flush_tlb_kernel_range(node, 0, 1 << 30)       # nothing to flush, no error
        with pytest.raises(ConfigError):
            tlb.TLB(node, 0, CFG)


def test_config_defaults_and_errors():
    assert tlb.tlb_config("x86_64", 4096) == CFG
    assert tlb.tlb_config("x86_32", 4096).large_page == 4 << 20
    assert tlb.tlb_config("x86_64", 4096, entries=8, large_page="1G").large_page == 1 << 30
    for kw in ({"entries": 0}, {"large_entries": "many"}, {"large_page": "3M"},
               {"large_page": "lots"}, {"large_page": 2048}):
        with pytest.raises(ConfigError):
            tlb.tlb_config("x86_64", 4096, **kw)


def test_vfree_is_lazy_until_the_purge_flushes():
    with _boot() as node:
        vm = node.vmalloc
        t = tlb.TLB(node, 0, CFG)
        a = km.vmalloc(4 * 4096)
        t.translate(a, 8)
        km.vfree(a)
        # The range is not free yet: the next vmalloc goes elsewhere.
        b = km.vmalloc(4 * 4096)
        assert b != a
        assert vm.lazy[vm_mod.LAZY_NR] == 5                  # 4 pages + the guard page
        assert node.tlb_flush[0] == 0                        # vfree itself flushes nothing
        km.vfree(a)                                          # still a nonexistent area
        assert vm_mod.purge_vmap_area_lazy() == 5
        assert node.tlb_flush[0] == 2                        # one generation published
        t.translate(b, 8)
        assert _row(node, 0)["flushes"] == 1
        km.vfree(b)
        assert vm_mod.purge_vmap_area_lazy() == 5
        assert vm.lazy[vm_mod.LAZY_NR] == 0 and vm.lazy[vm_mod.LAZY_PURGES] == 2


def test_lazy_max_pages_triggers_the_purge():
    with _boot() as node:
        vm = node.vmalloc
        limit = vm_mod.lazy_max_pages(vm)
        assert limit == 2 * ((32 << 20) >> 12)               # fls(2) * 32 MiB of pages
        size = 255 * 4096                                    # 256 slots with the guard
        for _ in range(limit // 256 + 1):
            km.vfree(km.vmalloc(size))
        assert vm.lazy[vm_mod.LAZY_PURGES] == 1
        assert vm.lazy[vm_mod.LAZY_NR] < limit


def test_exhausted_space_purges_and_retries():
    """32M, 2 CPUs: 10240 slots of vmalloc space but lazy_max_pages is 16384, so the
    space runs out first; alloc_vmap_area purges and retries instead of failing."""
    with km.boot(total="32M", nr_cpus=2, page_data=True, slab="slub", slub_debug=False,
                 tlb=True) as node:
        vm = node.vmalloc
        n = vm.slots // 257 + 10                  # 1 MiB areas, 257 slots with the guard
        assert n * 257 < vm_mod.lazy_max_pages(vm)
        for _ in range(n):
            a = km.vmalloc(1 << 20)
            assert a is not None
            km.vfree(a)
        assert vm.lazy[vm_mod.LAZY_PURGES] >= 1
        assert node.tlb_flush[0] >= 2


def test_remote_cpu_sees_the_flush_on_its_next_translation():
    with _boot() as node:
        t0, t1 = tlb.TLB(node, 0, CFG), tlb.TLB(node, 1, CFG)
        k = km.kmalloc(64, km.GFP_KERNEL)
        t1.translate(k, 8)
        context.set_this_cpu(context.CPU(0))
        a = km.vmalloc(40 * 4096)
        km.vfree(a)
        vm_mod.purge_vmap_area_lazy()                        # 41 pages > 33: a full flush
        t1.translate(k, 8)
        assert _row(node, 1)["flushes"] == 1 and _row(node, 1)["misses"] == 2
        assert _row(node, 0)["flushes"] == 0                 # CPU 0 translated nothing since
        t0.translate(k, 8)
        assert _row(node, 0)["flushes"] == 1
