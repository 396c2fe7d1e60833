"""The invariant checker finds planted corruption and names the structure."""

import kernel_model as km
from kernel_model import gfp as g, invariants
from kernel_model.zone import NR_FREE_PAGES


def test_clean_model_has_no_problems(node):
    assert invariants.check_page_allocator(node) == []


def test_wrong_nr_free_is_named(node):
    node.zones[g.ZONE_DMA].fa_nr[10] += 1
    problems = invariants.check_page_allocator(node)
    assert any("zone DMA free_area[10].nr_free" in p for p in problems)
    node.zones[g.ZONE_DMA].fa_nr[10] -= 1


def test_page_both_free_and_allocated_is_found(node):
    page = km.alloc_pages(g.GFP_KERNEL, 0)
    node.mem_map.ref[page.pfn + 4096 * 0 + 1] = 1      # a free page claims to be allocated
    problems = invariants.check_page_allocator(node)
    assert any("not in exactly one place" in p for p in problems)
    node.mem_map.ref[page.pfn + 1] = 0


def test_free_count_mismatch_is_found(node):
    node.zones[g.ZONE_DMA32].m[NR_FREE_PAGES] -= 3
    assert any("NR_FREE_PAGES" in p for p in invariants.check_page_allocator(node))
    node.zones[g.ZONE_DMA32].m[NR_FREE_PAGES] += 3
