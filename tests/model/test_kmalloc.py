"""kmalloc / kzalloc / kfree / ksize / krealloc, GFP fix-ups, and the debug data
a checker reads: object state, tracks, poison and red zones."""

import pytest

import kernel_model as km
from kernel_model import gfp as g, slab_common as sc
from kernel_model.kmalloc import (KMALLOC_DMA, KMALLOC_NORMAL, kmalloc_index, kmalloc_size,
                                  kmalloc_slab)

from slab_helpers import RecordingHooks


@pytest.fixture(params=["slub", "slab"])
def snode(request, booted):
    hooks = RecordingHooks()
    n = booted(hooks, total="32M", page_data=True, slab=request.param)
    n.hooks = hooks
    return n


def data(node, addr, n):
    off = node.data_offset(addr)
    return bytes(node.data[off:off + n])


def write(node, addr, raw):
    off = node.data_offset(addr)
    node.data[off:off + len(raw)] = raw


def test_size_classes():
    assert [kmalloc_size(kmalloc_index(n)) for n in (1, 8, 9, 33, 65, 96, 97, 129, 192, 193, 4097)] \
        == [8, 8, 16, 64, 96, 96, 128, 192, 192, 256, 8192]


def test_kmalloc_slab_table_agrees_with_kmalloc_index(snode):
    """kmalloc_size_index[] (sizes up to 192) and fls(size - 1) above pick, for every
    size and both kmalloc types, the cache the (type, index) registry names."""
    st = snode.slab
    for size in range(1, st.kmalloc_max_cache + 1):
        for typ, gfp in ((KMALLOC_NORMAL, km.GFP_KERNEL), (KMALLOC_DMA, km.GFP_KERNEL | g.__GFP_DMA)):
            s = kmalloc_slab(st, size, gfp)
            assert s is st.kmalloc_caches[(typ, kmalloc_index(size))], (size, typ)
            assert s.object_size >= size
    a = km.kmalloc(100, km.GFP_KERNEL | g.__GFP_DMA)
    assert km.object_info(a)["cache"] == "dma-kmalloc-128"
    km.kfree(a)


def test_kmalloc_rounds_up_and_aligns(snode):
    for size in (1, 7, 24, 65, 100, 150, 500, 3000, 8192):
        a = km.kmalloc(size, km.GFP_KERNEL)
        assert a is not None and km.ksize(a) >= size
        cls = kmalloc_size(kmalloc_index(size))
        assert a % (cls & -cls) == 0           # natural alignment of the class
        assert km.object_info(a)["object"] == a
        km.kfree(a)


def test_large_kmalloc_comes_from_the_page_allocator(snode):
    a = km.kmalloc(20000, km.GFP_KERNEL)
    assert a % snode.page_size == 0 and km.ksize(a) == 32768
    assert sc.virt_to_slab(snode, a) is None
    free0 = snode.total_free_pages()
    km.kfree(a)
    km.kfree(None)
    km.kfree(km.ZERO_SIZE_PTR)
    assert km.kmalloc(0, km.GFP_KERNEL) == km.ZERO_SIZE_PTR
    assert snode.total_free_pages() >= free0


def test_kzalloc_and_gfp_zero_really_zero(snode):
    a = km.kmalloc(100, km.GFP_KERNEL)
    write(snode, a, b"\xff" * 100)
    km.kfree(a)
    b = km.kzalloc(100, km.GFP_KERNEL)
    assert data(snode, b, 100) == bytes(100)
    c = km.kmem_cache_zalloc(sc.find_cache("kmalloc-256"), km.GFP_KERNEL)
    assert data(snode, c, 256) == bytes(256)
    km.kfree(b)
    km.kfree(c)


def test_poison_redzones_and_tracks(snode):
    a = km.kmalloc(50, km.GFP_KERNEL)
    s = sc.find_cache("kmalloc-64")
    assert data(snode, a - s.red_left_pad, s.red_left_pad) == b"\xcc" * s.red_left_pad
    assert data(snode, a + 50, 14) == b"\xcc" * 14          # kmalloc: redzone from orig_size
    info = km.object_info(a)
    assert info["state"] == "allocated" and info["orig_size"] == 50
    assert info["alloc"]["cpu"] == 0 and info["alloc"]["context"] == "process"
    assert "test_kmalloc.py" in info["alloc"]["site"] and info["free"] is None
    km.kfree(a)
    assert data(snode, a, 64) == b"\x6b" * 63 + b"\xa5"
    assert data(snode, a - s.red_left_pad, s.red_left_pad) == b"\xbb" * s.red_left_pad
    info = km.object_info(a)
    assert info["state"] == "free" and info["free"]["seq"] > info["alloc"]["seq"]
    assert km.object_info(a + 3)["offset"] == 3


def test_double_and_invalid_free_are_reported_not_done(snode):
    a = km.kmalloc(32, km.GFP_KERNEL)
    km.kfree(a)
    km.kfree(a)
    km.kfree(km.kmalloc(32, km.GFP_KERNEL) + 4)
    km.kfree(snode.page_offset + 5)           # not a slab, not a large kmalloc
    kinds = snode.hooks.kinds()
    assert kinds.count("double_free") == 1 and kinds.count("invalid_free") == 2
    b = km.kmalloc(32, km.GFP_KERNEL)
    c = km.kmalloc(32, km.GFP_KERNEL)
    assert b != c                               # the double free did not corrupt the freelist


def test_hooks_see_every_alloc_and_free(snode):
    a = km.kmalloc(10, km.GFP_KERNEL)
    km.kfree(a)
    assert ("alloc", "kmalloc-16", a, 10) in snode.hooks.calls
    assert ("free", "kmalloc-16", a) in snode.hooks.calls


def test_krealloc_keeps_contents(snode):
    a = km.kmalloc(20, km.GFP_KERNEL)
    write(snode, a, bytes(range(20)))
    assert km.krealloc(a, 24, km.GFP_KERNEL) == a          # still fits kmalloc-32
    b = km.krealloc(a, 300, km.GFP_KERNEL)
    assert b != a and data(snode, b, 20) == bytes(range(20)) and km.ksize(b) >= 300
    assert km.object_info(a)["state"] == "free"
    assert km.krealloc(None, 10, km.GFP_KERNEL) is not None
    km.kfree(b)


def test_highmem_and_dma32_to_slab_are_fixed_up_and_reported(snode):
    c = km.kmem_cache_create("fresh", 300)              # a new slab is needed
    a = km.kmem_cache_alloc(c, km.GFP_KERNEL | g.__GFP_HIGHMEM)
    assert a is not None and snode.virt_to_pfn(a) is not None
    text = [t for k, t in snode.hooks.reports if k == "gfp-slab-bug"]
    assert text == ["Unexpected gfp: 0x2 (__GFP_HIGHMEM). Fixing up to gfp: 0xcc0 (GFP_KERNEL). "
                    "Fix your code!"]
    big = km.kmalloc(100000, km.GFP_KERNEL | g.__GFP_DMA32)
    assert sum("Fix your code!" in t for _, t in snode.hooks.reports) == 2
    km.kfree(big)
    km.kmem_cache_free(c, a)


def test_dma_kmalloc_comes_from_zone_dma(snode):
    a = km.kmalloc(100, km.GFP_KERNEL | g.__GFP_DMA)
    assert km.object_info(a)["cache"] == "dma-kmalloc-128"
    assert snode.mem_map.zone[snode.virt_to_pfn(a)] == km.ZONE_DMA
    km.kfree(a)


def test_wrong_cache_is_reported_and_freed_to_the_right_one(snode):
    c = km.kmem_cache_create("mine", 64)
    a = km.kmalloc(64, km.GFP_KERNEL)
    km.kmem_cache_free(c, a)
    assert any("Wrong slab cache. mine but object is from kmalloc-64" in t
               for _, t in snode.hooks.reports)
    assert km.object_info(a)["state"] == "free"


def test_slab_needs_page_data():
    with pytest.raises(km.ConfigError, match="page_data=True"):
        km.boot(total="32M", slab="slub")
    with pytest.raises(km.ConfigError, match="'slub'"):
        km.boot(total="32M", page_data=True, slab="slob")
