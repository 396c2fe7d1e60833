"""Facts the model's modules rely on between their constants (they were module-level asserts).

Each names the code that would silently misbehave if the fact broke.
"""

from kernel_model import gfp, page, page_alloc, watermarks, zone


def test_page_metadata_fits_the_64_bytes_of_a_struct_page():
    assert page.BYTES_PER_PAGE <= 64


def test_zone_counters_are_read_in_counter_names_order_from_pgalloc():
    # procfs.zoneinfo prints COUNTER_NAMES from PGALLOC on; allocfail comes after pgalloc
    assert zone.ALLOCFAIL > zone.PGALLOC
    assert zone.ALLOCFAIL - zone.PGALLOC == zone.COUNTER_NAMES.index("allocfail")


def test_alloc_flags_share_the_gfp_bits_gfp_to_alloc_flags_copies():
    assert page_alloc.ALLOC_MIN_RESERVE == gfp.__GFP_HIGH
    assert page_alloc.ALLOC_KSWAPD == gfp.__GFP_KSWAPD_RECLAIM


def test_lowmem_reserve_ratio_is_indexed_by_zone():
    # sysctl_lowmem_reserve_ratio: DMA 256, DMA32 256, NORMAL 32, then HIGHMEM, MOVABLE
    assert gfp.ZONE_NORMAL == 2 and watermarks.LOWMEM_RESERVE_RATIO[gfp.ZONE_NORMAL] == 32
    assert len(watermarks.LOWMEM_RESERVE_RATIO) == gfp.MAX_NR_ZONES
