"""Watermark numbers as 6.12 computes them, and the reserve semantics of GFP flags."""

import pytest

import kernel_model as km
from kernel_model import gfp as g
from kernel_model import page_alloc, pcp
from kernel_model.watermarks import (calculate_min_free_kbytes, setup_per_zone_lowmem_reserve,
                                     setup_per_zone_wmarks, zone_batchsize)
from kernel_model.zone import NR_FREE_PAGES

ALLOC = page_alloc.__alloc_pages
NOWARN, NOMEMALLOC, MEMALLOC = g.__GFP_NOWARN, g.__GFP_NOMEMALLOC, g.__GFP_MEMALLOC


def test_min_free_kbytes_is_sqrt_of_lowmem_times_16():
    assert calculate_min_free_kbytes(262144, 4096) == 4096        # 1 GiB
    assert calculate_min_free_kbytes(1024, 4096) == 256
    assert calculate_min_free_kbytes(16, 4096) == 128             # clamped up
    assert calculate_min_free_kbytes(1 << 30, 4096) == 262144     # clamped down


def test_wmarks_split_min_over_lowmem_and_use_scale_factor():
    managed = [4096, 258048, 0, 0, 0]
    w = setup_per_zone_wmarks(managed, 4096, 12)
    assert (w[0][0], w[1][0]) == (16, 1008)     # 1024 pages split by managed size
    dma32_min = 1024 * 258048 // 262144
    gap = max(dma32_min >> 2, 258048 * 10 // 10000)
    assert w[1] == (dma32_min, dma32_min + gap, dma32_min + 2 * gap, dma32_min + 3 * gap)
    assert w[2] == (0, 0, 0, 0)


def test_highmem_min_is_clamped_fraction():
    managed = [4096, 0, 225280, 32768, 0]
    w = setup_per_zone_wmarks(managed, 3831, 12)
    assert w[3][0] == 32                    # clamp(32768 / 1024, 32, 128)


def test_lowmem_reserve_ratios():
    r = setup_per_zone_lowmem_reserve([4096, 258048, 0, 0, 0])
    assert r[0] == [0, 258048 // 256, 258048 // 256, 258048 // 256, 258048 // 256]
    assert r[1] == [0, 0, 0, 0, 0]


def test_batch_matches_kernel_for_1g():
    assert zone_batchsize(258048, 4096) == 63


@pytest.fixture
def dma_only():
    """16 MiB of x86_64: one zone (DMA), min 128 pages, so the arithmetic is plain."""
    with km.boot(total="16M", max_locks=16) as node:
        yield node, node.zones[g.ZONE_DMA]


def drain_until_fail(node, gfp):
    held = []
    while True:
        pfn = ALLOC(node, gfp | NOWARN, 0)
        if pfn is None:
            return held
        held.append(pfn)


def test_atomic_dips_to_three_eighths_of_min_where_nowait_stops(dma_only):
    node, zone = dma_only
    wmin = zone.m[5]
    assert wmin == 128
    drain_until_fail(node, g.GFP_NOWAIT)
    free_at_nowait_failure = zone.m[NR_FREE_PAGES]
    assert wmin - 2 <= free_at_nowait_failure <= wmin
    got = drain_until_fail(node, g.GFP_ATOMIC)
    assert got, "GFP_ATOMIC must succeed below min where GFP_NOWAIT failed"
    three_eighths = wmin - wmin // 2 - (wmin - wmin // 2) // 4
    assert three_eighths == 48
    assert three_eighths - 2 <= zone.m[NR_FREE_PAGES] <= three_eighths


def test_nomemalloc_loses_the_non_block_reserve(dma_only):
    node, zone = dma_only
    drain_until_fail(node, g.GFP_ATOMIC | NOMEMALLOC)
    half = zone.m[5] - zone.m[5] // 2
    assert half - 2 <= zone.m[NR_FREE_PAGES] <= half
    assert drain_until_fail(node, g.GFP_ATOMIC), "without NOMEMALLOC the 3/8 reserve is still there"


def test_memalloc_ignores_watermarks(dma_only):
    node, zone = dma_only
    drain_until_fail(node, g.GFP_ATOMIC)
    drain_until_fail(node, g.GFP_ATOMIC | MEMALLOC)
    pcp.drain_all_pages(node)
    drain_until_fail(node, g.GFP_ATOMIC | MEMALLOC)
    assert zone.m[NR_FREE_PAGES] == 0
    assert drain_until_fail(node, g.GFP_ATOMIC | MEMALLOC | NOMEMALLOC) == []


def test_lowmem_reserve_protects_dma_from_normal_requests():
    with km.boot(total="64M", max_locks=16) as node:
        dma = node.zones[g.ZONE_DMA]
        drain_until_fail(node, g.GFP_KERNEL | g.__GFP_NORETRY)
        reserve = dma.m[9 + g.ZONE_NORMAL]
        assert reserve > 0
        assert dma.m[NR_FREE_PAGES] > dma.m[5] + reserve - 2   # GFP_KERNEL left the reserve
        assert drain_until_fail(node, g.GFP_DMA | g.__GFP_NORETRY)  # GFP_DMA may use it


def test_failure_warns_unless_nowarn(dma_only):
    node, _ = dma_only
    km.debug.dmesg.clear()
    drain_until_fail(node, g.GFP_ATOMIC)
    assert ALLOC(node, g.GFP_ATOMIC | NOWARN, 0) is None
    assert not km.debug.dmesg
    assert ALLOC(node, g.GFP_ATOMIC, 3) is None
    assert "page allocation failure: order:3, mode:0x820(GFP_ATOMIC)" in km.debug.dmesg[-1]
