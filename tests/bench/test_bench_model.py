"""Model micro-benchmarks under pytest-benchmark: the slab pair costs and boot time.

    python3 -m pytest tests/bench --benchmark-only        # one process: no -n

Skipped in the normal suite (``--benchmark-skip`` is in pyproject's addopts,
so ``pytest -n auto`` neither runs them nor warns that xdist disabled them).
Timings are reported, never asserted; each benchmark checks only that the
work it timed was done.  The figures against their targets (pairs/s per CPU
on one and two CPUs, slow/fast path ratios by path, checker overhead,
scaling) are ``mmstress bench`` (harness/tools/bench.py); these are the
finer per-operation costs pytest-benchmark's statistics suit: a pair on
SLUB, SLAB and debug SLUB, the kernel's locked route for a debug cache, a
batch that goes through refills and partial lists, and boot.
"""

import pytest

import kernel_model as km
from kernel_model import slab_common as sc

GK = km.GFP_KERNEL


@pytest.mark.parametrize("slab, debug", [("slub", False), ("slab", False), ("slub", True)],
                         ids=["slub", "slab", "slub_debug"])
def test_kmalloc64_kfree_pair(benchmark, booted, slab, debug):
    booted(total="64M", page_data=True, slab=slab, slub_debug=debug)
    kmalloc, kfree = km.kmalloc, km.kfree
    for _ in range(2000):                                  # warm the caches
        kfree(kmalloc(64, GK))
    benchmark(lambda: kfree(kmalloc(64, GK)))
    assert km.kmalloc(64, GK) is not None


@pytest.mark.parametrize("flags", [0, km.SLAB_CONSISTENCY_CHECKS], ids=["fast", "consistency_checks"])
def test_kmem_cache_pair(benchmark, booted, flags):
    """A 64-byte cache; with SLAB_CONSISTENCY_CHECKS every alloc and free takes list_lock."""
    booted(total="64M", page_data=True, slab="slub", slub_debug=False)
    c = km.kmem_cache_create("bench", 64, flags=flags)
    alloc, free = km.kmem_cache_alloc, km.kmem_cache_free
    benchmark(lambda: free(c, alloc(c, GK)))
    stats = sc.slab_stats(c)
    if flags:
        assert stats["alloc_fastpath"] == 0
    else:
        assert stats["alloc_fastpath"] > stats["alloc_slowpath"]


def test_batch_of_4096_allocs_then_frees(benchmark, booted):
    """Refills, new slabs, __slab_free and partial lists: the slow paths in bulk."""
    booted(total="64M", page_data=True, slab="slub", slub_debug=False)
    c = km.kmem_cache_create("batch", 64)
    alloc, free = km.kmem_cache_alloc, km.kmem_cache_free

    def batch():
        objs = [alloc(c, GK) for _ in range(4096)]
        for o in objs:
            free(c, o)
    benchmark(batch)
    stats = sc.slab_stats(c)
    assert stats["alloc_slowpath"] > 0 and stats["free_slowpath"] > 0


@pytest.mark.parametrize("arch, total, page_data", [("x86_64", "1G", True), ("x86_64", "4G", False),
                                                    ("x86_32", "4G", False)],
                         ids=["1G_page_data", "4G_metadata", "4G_x86_32_highmem"])
def test_boot(benchmark, arch, total, page_data):
    layout = km.MemoryLayout(arch, total=total)

    def boot():
        with km.boot(layout, page_data=page_data) as node:
            return node.total_free_pages()
    free = benchmark.pedantic(boot, rounds=3, iterations=1)
    assert free == layout.nr_pages
