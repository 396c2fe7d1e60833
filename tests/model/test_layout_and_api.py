"""Memory layouts, struct page fields, the page API of the notes, /proc views."""

import pytest

import kernel_model as km
from kernel_model import gfp as g
from kernel_model.errors import ConfigError, GfpError
from kernel_model.layout import GiB, MiB
from kernel_model.page import BYTES_PER_PAGE


def test_struct_page_fits_64_bytes():
    assert BYTES_PER_PAGE <= 64


def test_x86_64_zones():
    spans = km.MemoryLayout("x86_64", total="6G").zone_spans()
    assert spans[g.ZONE_DMA] == (0, 4096)
    assert spans[g.ZONE_DMA32] == (4096, (4 * GiB >> 12) - 4096)
    assert spans[g.ZONE_NORMAL] == (4 * GiB >> 12, 2 * GiB >> 12)
    assert spans[g.ZONE_HIGHMEM] == (0, 0)


def test_x86_32_zones_and_highmem_has_no_address():
    spans = km.MemoryLayout("x86_32", total="1G").zone_spans()
    assert spans[g.ZONE_NORMAL] == (4096, (896 * MiB >> 12) - 4096)
    assert spans[g.ZONE_HIGHMEM] == (896 * MiB >> 12, 128 * MiB >> 12)
    with km.boot(km.MemoryLayout("x86_32", total="1G"), max_locks=16):
        page = km.alloc_pages(g.GFP_HIGHUSER, 0)
        assert page.zone.idx == g.ZONE_HIGHMEM
        assert km.page_address(page) is None and page.virtual is None
        low = km.alloc_pages(g.GFP_KERNEL, 0)
        assert km.page_address(low) == 0xC0000000 + low.pfn * 4096
        km.__free_pages(page)
        km.__free_pages(low)


def test_movable_zone_and_8k_pages():
    lay = km.MemoryLayout("x86_64", total="64M", page_size=8192, movable="16M")
    spans = lay.zone_spans()
    assert spans[g.ZONE_MOVABLE] == (6144, 2048)
    with km.boot(lay, max_locks=16):
        page = km.alloc_pages(g.GFP_HIGHUSER_MOVABLE, 1)
        assert page.zone.idx == g.ZONE_MOVABLE
        assert km.page_address(page) % 8192 == 0
        km.__free_pages(page, 1)


@pytest.mark.parametrize("kw,msg", [
    (dict(arch="arm64"), "unknown architecture"),
    (dict(page_size=16384), "page size"),
    (dict(total="4098K"), "whole number"),
    (dict(total="lots"), "not a size"),
    (dict(total="64M", movable="64M"), "movable"),
])
def test_bad_layouts_are_clear_errors(kw, msg):
    with pytest.raises(ConfigError, match=msg):
        km.MemoryLayout(**kw)


def test_page_api(node):
    page = km.alloc_pages(g.GFP_KERNEL, 1)
    assert km.page_count(page) == 1 and page.order == 1 and page.owner == 0
    addr = km.__get_free_pages(g.GFP_KERNEL, 2)
    assert km.virt_to_page(addr).order == 2
    zaddr = km.get_zeroed_page(g.GFP_KERNEL)
    off = node.data_offset(zaddr)
    node.data[off:off + 8] = b"\xff" * 8
    km.free_page(zaddr)
    # The pcp list is LIFO: the same page comes back, and __GFP_ZERO zeroes it.
    again = km.get_zeroed_page(g.GFP_KERNEL)
    assert again == zaddr
    assert bytes(node.data[off:off + node.page_size]) == bytes(node.page_size)
    km.free_pages(addr, 2)
    km.free_page(again)
    km.__free_pages(page, 1)
    km.free_pages(0)                    # NULL is fine
    assert km.alloc_pages(g.GFP_KERNEL, 11) is None   # > MAX_PAGE_ORDER: NULL, not an exception


def test_zone_bad_raises_from_alloc(node):
    with pytest.raises(GfpError, match="__GFP_HIGHMEM"):
        km.alloc_pages(g.GFP_KERNEL | g.__GFP_DMA | g.__GFP_HIGHMEM, 0)


def test_double_free_of_page_is_reported_not_corrupting(node, debug_hooks):
    seen = []

    class Hooks(km.debug.DebugHooks):
        def bad_page(self, pfn, reason):
            seen.append((pfn, reason))

    debug_hooks(Hooks())
    page = km.alloc_pages(g.GFP_KERNEL, 0)
    km.__free_pages(page)
    km.__free_pages(page)
    assert seen == [(page.pfn, "put_page on a page with _refcount 0 (double free?)")]
    assert km.invariants.check_page_allocator(node, {}) == []


def test_buddyinfo_and_zoneinfo_format(node):
    info = km.procfs.buddyinfo(node)
    assert info.splitlines()[0].startswith("Node 0, zone      DMA ")
    assert len(info.splitlines()[0].split()) == 4 + 11
    zi = km.procfs.zoneinfo(node)
    for word in ("pages free", "min", "low", "high", "managed", "protection: (", "pagesets"):
        assert word in zi
