"""Zone watermarks, lowmem_reserve and pcp sizing, computed as Linux 6.12 does.

  calculate_min_free_kbytes()     mm/page_alloc.c: int_sqrt(lowmem_kbytes * 16),
                                  clamped to [128, 262144]
  __setup_per_zone_wmarks()       min split over lowmem zones by managed pages;
                                  HighMem/Movable get managed/1024 clamped to
                                  [SWAP_CLUSTER_MAX, 128]; low = min + gap,
                                  high = low + gap, promo = high + gap, with
                                  gap = max(min/4, managed * 10 / 10000)
  setup_per_zone_lowmem_reserve() lowmem_reserve[j] = sum(managed of zones
                                  i+1..j) / sysctl_lowmem_reserve_ratio[i]
  zone_batchsize(), zone_highsize()  pcp batch and high

Pure functions over plain numbers, so they are tested without an arena.
"""

from math import isqrt

from .gfp import MAX_NR_ZONES, ZONE_HIGHMEM, ZONE_MOVABLE

SWAP_CLUSTER_MAX = 32
WATERMARK_SCALE_FACTOR = 10
# mm/page_alloc.c sysctl_lowmem_reserve_ratio, 6.12: DMA 256, DMA32 256,
# Normal 32, HighMem 0, Movable 0.
LOWMEM_RESERVE_RATIO = (256, 256, 32, 0, 0)


def calculate_min_free_kbytes(lowmem_managed_pages, page_size):
    lowmem_kbytes = lowmem_managed_pages * (page_size >> 10)
    return max(128, min(262144, isqrt(lowmem_kbytes * 16)))


def setup_per_zone_wmarks(managed, min_free_kbytes, page_shift):
    """managed[zone] -> [(min, low, high, promo)] per zone."""
    return setup_node_wmarks([managed], min_free_kbytes, page_shift)[0]


def setup_node_wmarks(managed_by_node, min_free_kbytes, page_shift):
    """managed[node][zone] -> [node][zone] (min, low, high, promo): for_each_zone over
    every node, min_free_kbytes split by each zone's share of all lowmem pages."""
    pages_min = min_free_kbytes >> (page_shift - 10)
    lowmem_pages = sum(m for managed in managed_by_node for z, m in enumerate(managed)
                       if z not in (ZONE_HIGHMEM, ZONE_MOVABLE))
    return [_wmarks(managed, pages_min, lowmem_pages) for managed in managed_by_node]


def _wmarks(managed, pages_min, lowmem_pages):
    out = []
    for z, m in enumerate(managed):
        tmp = pages_min * m // lowmem_pages if lowmem_pages else 0
        if z in (ZONE_HIGHMEM, ZONE_MOVABLE):
            wmin = max(SWAP_CLUSTER_MAX, min(128, m // 1024))
        else:
            wmin = tmp
        gap = max(tmp >> 2, m * WATERMARK_SCALE_FACTOR // 10000)
        low = wmin + gap
        high = low + gap
        out.append((wmin, low, high, high + gap) if m else (0, 0, 0, 0))
    return out


def setup_per_zone_lowmem_reserve(managed):
    """managed[zone] -> reserve[i][j]: pages zone i keeps back from j-requests."""
    reserve = [[0] * MAX_NR_ZONES for _ in range(MAX_NR_ZONES)]
    for i in range(MAX_NR_ZONES):
        ratio = LOWMEM_RESERVE_RATIO[i]
        clear = not ratio or not managed[i]
        upper = 0
        for j in range(i + 1, MAX_NR_ZONES):
            upper += managed[j]
            reserve[i][j] = 0 if clear else upper // ratio
    return reserve


def _rounddown_pow_of_two(n):
    return 1 << (n.bit_length() - 1)


def zone_batchsize(managed, page_size):
    batch = min(managed >> 10, (1 << 20) // page_size)
    batch //= 4
    if batch < 1:
        batch = 1
    return _rounddown_pow_of_two(batch + batch // 2) - 1 or 1


def zone_highsize(low_wmark, batch, nr_cpus):
    """pcp->high: the zone's low watermark split over the node's CPUs."""
    return max(low_wmark // max(1, nr_cpus), batch << 2)
