"""mm/kasan/kasan_test_c.c (Linux 6.12, generic KASAN), case by case.

Each test is named after the kernel case and does what it does through the
``k`` API; KUNIT_EXPECT_KASAN_FAIL becomes ``kasan_fail(hooks, kind)``
(exactly one report, of that kind) and the suite's exit check (no report
outside an expectation) becomes ``no_report``.  KASAN_GRANULE_SIZE is 8.
Cases the model cannot run are listed, with the reason, in README.md here.
"""

from kunit_helpers import kasan_fail, no_report, reports

import kernel_model as km
from kernel_model.gfp import GFP_KERNEL, __GFP_ZERO
from kernel_model.slab_common import SLAB_TYPESAFE_BY_RCU

GRANULE = 8


def round_up(x, a):
    return (x + a - 1) // a * a


def kmalloc_max_cache_size(node):
    return node.slab.kmalloc_max_cache


def test_kasan_kmalloc_oob_right(kunit):
    k, node, hooks = kunit
    size = 128 - GRANULE - 5
    ptr = k.kmalloc(size, GFP_KERNEL)
    with kasan_fail(hooks, "out-of-bounds") as r:
        k.write(ptr + size, b"x")
    assert r.v.title == "BUG: KASAN: slab-out-of-bounds in test_kasan_kmalloc_oob_right"
    assert f"Write of size 1 at addr {ptr + size:#x}" in r.v.splat
    assert "The buggy address is located 0 bytes to the right of" in r.v.splat
    assert f"allocated {size}-byte region [{ptr:#x}, {ptr + size:#x})" in r.v.splat
    assert "which belongs to the cache kmalloc-128 of size 128" in r.v.splat
    with kasan_fail(hooks, "out-of-bounds"):
        k.write(ptr + size + 5, b"y")
    with kasan_fail(hooks, "out-of-bounds") as r:
        k.write(ptr, k.read(ptr + size + GRANULE + 5, 1))
    assert f"Read of size 1 at addr {ptr + size + GRANULE + 5:#x}" in r.v.splat
    # The model runs SLUB_DEBUG beside KASAN (the kernel's KASAN config leaves
    # slub_debug off): the redzone bytes written above are found again at kfree,
    # but KASAN already reported that object: one bug, one report.
    with no_report(hooks):
        k.kfree(ptr)


def test_kasan_kmalloc_oob_left(kunit):
    k, node, hooks = kunit
    ptr = k.kmalloc(15, GFP_KERNEL)
    with kasan_fail(hooks, "out-of-bounds") as r:
        k.write(ptr, k.read(ptr - 1, 1))
    assert "1 bytes to the left of" in r.v.splat
    with no_report(hooks):
        k.kfree(ptr)


def test_kasan_kmalloc_node_oob_right(kunit):
    k, node, hooks = kunit
    size = 4096
    ptr = k.kmalloc_node(size, GFP_KERNEL, 0)
    with kasan_fail(hooks, "out-of-bounds"):
        k.write(ptr, k.read(ptr + size, 1))
    k.kfree(ptr)


def test_kasan_kmalloc_track_caller_oob_right(kunit):
    """kmalloc_track_caller / kmalloc_node_track_caller: the model's kmalloc records
    the caller's site already, so both are k.kmalloc / k.kmalloc_node."""
    k, node, hooks = kunit
    size = 128 - GRANULE
    for alloc in (lambda: k.kmalloc(size, GFP_KERNEL), lambda: k.kmalloc_node(size, GFP_KERNEL, 0)):
        ptr = alloc()
        with kasan_fail(hooks, "out-of-bounds") as r:
            k.write(ptr + size, b"y")
        assert "test_kasan_kunit.py:" in r.v.tracks["alloc"]["site"]
        k.kfree(ptr)


def test_kasan_kmalloc_big_oob_right(kunit):
    k, node, hooks = kunit
    size = kmalloc_max_cache_size(node) - 256
    ptr = k.kmalloc(size, GFP_KERNEL)
    with kasan_fail(hooks, "out-of-bounds") as r:
        k.write(ptr + size, b"\0")
    assert "slab-out-of-bounds" in r.v.title
    k.kfree(ptr)


def test_kasan_kmalloc_large_oob_right(kunit):
    k, node, hooks = kunit
    size = kmalloc_max_cache_size(node) + 10
    ptr = k.kmalloc(size, GFP_KERNEL)
    with no_report(hooks):
        k.write(ptr + size - 1, b"\0")
    with kasan_fail(hooks, "out-of-bounds") as r:
        k.write(ptr + size, b"\0")
    assert r.v.title == "BUG: KASAN: slab-out-of-bounds in test_kasan_kmalloc_large_oob_right"
    assert f"allocated {size}-byte region [{ptr:#x}, {ptr + size:#x})" in r.v.splat
    assert "The buggy address belongs to the physical page:" in r.v.splat
    assert "page last allocated via order 2" in r.v.splat
    with no_report(hooks):
        k.kfree(ptr)


def test_kasan_kmalloc_large_uaf(kunit):
    k, node, hooks = kunit
    size = kmalloc_max_cache_size(node) + 10
    ptr = k.kmalloc(size, GFP_KERNEL)
    k.kfree(ptr)
    with kasan_fail(hooks, "use-after-free") as r:
        k.read(ptr, 1)
    assert r.v.title == "BUG: KASAN: use-after-free in test_kasan_kmalloc_large_uaf"
    assert "page last free pid 4242" in r.v.splat
    assert "test_kasan_kunit.py:" in r.v.tracks["alloc"]["site"] and "test_kasan_kunit.py:" in r.v.tracks["free"]["site"]


def test_kasan_kmalloc_large_invalid_free(kunit):
    k, node, hooks = kunit
    size = kmalloc_max_cache_size(node) + 10
    ptr = k.kmalloc(size, GFP_KERNEL)
    with kasan_fail(hooks, "invalid-free") as r:
        k.kfree(ptr + 1)
    assert r.v.title == "BUG: KASAN: invalid-free in kfree"
    with no_report(hooks):
        k.kfree(ptr)                       # the kernel case leaks it; the model frees it


def test_kasan_page_alloc_uaf(kunit):
    k, node, hooks = kunit
    order = 4
    pages = k.alloc_pages(GFP_KERNEL, order)
    ptr = k.page_address(pages)
    k.free_pages(ptr, order)
    with kasan_fail(hooks, "use-after-free") as r:
        k.read(ptr, 1)
    assert r.v.title == "BUG: KASAN: use-after-free in test_kasan_page_alloc_uaf"
    assert f"pfn:{pages.pfn:#x}" in r.v.splat and "head: order:4" in r.v.splat
    assert "The buggy address belongs to the physical page:" in r.v.splat


def _krealloc_more_oob(k, hooks, size1, size2):
    middle = size1 + (size2 - size1) // 2
    ptr1 = k.kmalloc(size1, GFP_KERNEL)
    ptr2 = k.krealloc(ptr1, size2, GFP_KERNEL)
    with no_report(hooks):
        for off in (size1 - 1, size1, middle, size2 - 1):
            k.write(ptr2 + off, b"x")
    with kasan_fail(hooks, "out-of-bounds"):
        k.write(ptr2 + size2, b"x")
    with kasan_fail(hooks, "out-of-bounds"):
        k.write(ptr2 + round_up(size2, GRANULE), b"x")
    k.kfree(ptr2)                          # SLUB_DEBUG may see the redzone bytes again


def _krealloc_less_oob(k, hooks, size1, size2):
    middle = size2 + (size1 - size2) // 2
    ptr1 = k.kmalloc(size1, GFP_KERNEL)
    ptr2 = k.krealloc(ptr1, size2, GFP_KERNEL)
    with no_report(hooks):
        k.write(ptr2 + size2 - 1, b"x")
    for off in (size2, round_up(size2, GRANULE), middle, size1 - 1, size1):
        with kasan_fail(hooks, "out-of-bounds"):
            k.write(ptr2 + off, b"x")
    k.kfree(ptr2)


def test_kasan_krealloc_more_oob(kunit):
    k, node, hooks = kunit
    _krealloc_more_oob(k, hooks, 201, 235)


def test_kasan_krealloc_less_oob(kunit):
    k, node, hooks = kunit
    _krealloc_less_oob(k, hooks, 235, 201)


def test_kasan_krealloc_large_more_oob(kunit):
    k, node, hooks = kunit
    m = kmalloc_max_cache_size(node)
    _krealloc_more_oob(k, hooks, m + 201, m + 235)


def test_kasan_krealloc_large_less_oob(kunit):
    k, node, hooks = kunit
    m = kmalloc_max_cache_size(node)
    _krealloc_less_oob(k, hooks, m + 235, m + 201)


def test_kasan_krealloc_uaf(kunit):
    k, node, hooks = kunit
    ptr1 = k.kmalloc(201, GFP_KERNEL)
    k.kfree(ptr1)
    with kasan_fail(hooks, "use-after-free"):
        ptr2 = k.krealloc(ptr1, 235, GFP_KERNEL)
    assert ptr2 is None
    with kasan_fail(hooks, "use-after-free"):
        k.read(ptr1, 1)


def test_kasan_kmalloc_oob_16(kunit):
    k, node, hooks = kunit
    ptr1 = k.kmalloc(16 - 3, GFP_KERNEL)
    ptr2 = k.kmalloc(16, GFP_KERNEL)
    with kasan_fail(hooks, "out-of-bounds") as r:
        k.memmove(ptr1, ptr2, 16)
    assert f"Write of size 16 at addr {ptr1 + 13:#x}" in r.v.splat or \
        f"Write of size 16 at addr {ptr1:#x}" in r.v.splat
    k.kfree(ptr1)
    k.kfree(ptr2)


def test_kasan_kmalloc_uaf_16(kunit):
    k, node, hooks = kunit
    ptr1 = k.kmalloc(16, GFP_KERNEL)
    ptr2 = k.kmalloc(16, GFP_KERNEL)
    k.kfree(ptr2)
    with kasan_fail(hooks, "use-after-free") as r:
        k.memmove(ptr1, ptr2, 16)
    assert "slab-use-after-free" in r.v.title and "Read of size 16" in r.v.splat
    k.kfree(ptr1)


def test_kasan_kmalloc_oob_in_memset(kunit):
    k, node, hooks = kunit
    size = 128 - GRANULE
    ptr = k.kmalloc(size, GFP_KERNEL)
    with kasan_fail(hooks, "out-of-bounds"):
        k.memset(ptr, 0, size + GRANULE)
    k.kfree(ptr)


def _oob_memset(k, hooks, n):
    size = 128 - GRANULE
    ptr = k.kmalloc(size, GFP_KERNEL)
    with kasan_fail(hooks, "out-of-bounds") as r:
        k.memset(ptr + size - (n - 1), 0, n)
    assert f"Write of size {n}" in r.v.splat
    k.kfree(ptr)


def test_kasan_kmalloc_oob_memset_2(kunit):
    _oob_memset(kunit[0], kunit[2], 2)


def test_kasan_kmalloc_oob_memset_4(kunit):
    _oob_memset(kunit[0], kunit[2], 4)


def test_kasan_kmalloc_oob_memset_8(kunit):
    _oob_memset(kunit[0], kunit[2], 8)


def test_kasan_kmalloc_oob_memset_16(kunit):
    _oob_memset(kunit[0], kunit[2], 16)


def test_kasan_kmalloc_memmove_invalid_size(kunit):
    k, node, hooks = kunit
    size = 64
    ptr = k.kmalloc(size, GFP_KERNEL)
    k.memset(ptr, 0, 64)
    with kasan_fail(hooks, "out-of-bounds") as r:
        k.memmove(ptr, ptr + 4, size)
    assert "Read of size 64" in r.v.splat
    k.kfree(ptr)


def test_kasan_kmalloc_uaf(kunit):
    k, node, hooks = kunit
    ptr = k.kmalloc(10, GFP_KERNEL)
    k.kfree(ptr)
    with kasan_fail(hooks, "use-after-free") as r:
        k.read(ptr + 8, 1)
    assert "Freed by task 4242 on cpu 0" in r.v.splat
    assert "The buggy address is located 8 bytes inside of" in r.v.splat


def test_kasan_kmalloc_uaf_memset(kunit):
    k, node, hooks = kunit
    size = 33
    ptr = k.kmalloc(size, GFP_KERNEL)
    k.kfree(ptr)
    with kasan_fail(hooks, "use-after-free"):
        k.memset(ptr, 0, size)


def test_kasan_kmalloc_uaf2(kunit):
    k, node, hooks = kunit
    size = 43
    ptr1 = k.kmalloc(size, GFP_KERNEL)
    k.kfree(ptr1)
    ptr2 = k.kmalloc(size, GFP_KERNEL)
    with kasan_fail(hooks, "use-after-free"):
        k.read(ptr1 + 40, 1)
    assert ptr1 != ptr2                    # the quarantine holds ptr1 back
    k.kfree(ptr2)


def test_kasan_kmalloc_double_kzfree(kunit):
    """kfree_sensitive() calls ksize() first, whose kasan_check_byte reports the
    freed object; then kfree() reports the double free: two reports, as in the
    kernel (the KUnit macro only asks for at least one)."""
    k, node, hooks = kunit
    ptr = k.kmalloc(16, GFP_KERNEL)
    k.kfree_sensitive(ptr)
    before = reports(hooks)
    k.kfree_sensitive(ptr)
    assert [v.kind for v in hooks.sink.violations][-2:] == ["use-after-free", "double-free"]
    assert reports(hooks) == before + 2
    assert hooks.sink.violations[-1].title == "BUG: KASAN: double-free in kfree"


def test_kasan_ksize_unpoisons_memory(kunit):
    k, node, hooks = kunit
    size = 128 - GRANULE - 5
    ptr = k.kmalloc(size, GFP_KERNEL)
    real_size = k.ksize(ptr)
    assert real_size > size
    with no_report(hooks):
        k.write(ptr, b"x")
        k.write(ptr + size - 1, b"x")
    for off in (size, size + 5, real_size - 1):
        with kasan_fail(hooks, "out-of-bounds"):
            k.read(ptr + off, 1)
    k.kfree(ptr)


def test_kasan_ksize_uaf(kunit):
    k, node, hooks = kunit
    size = 128 - GRANULE
    ptr = k.kmalloc(size, GFP_KERNEL)
    k.kfree(ptr)
    with kasan_fail(hooks, "use-after-free"):
        assert k.ksize(ptr) == 0
    with kasan_fail(hooks, "use-after-free"):
        k.read(ptr, 1)
    with kasan_fail(hooks, "use-after-free"):
        k.read(ptr + size, 1)


def test_kasan_kfree_via_page(kunit):
    k, node, hooks = kunit
    ptr = k.kmalloc(8, GFP_KERNEL)
    page = k.virt_to_page(ptr)
    offset = ptr & (node.page_size - 1)
    with no_report(hooks):
        k.kfree(k.page_address(page) + offset)


def test_kasan_kfree_via_phys(kunit):
    k, node, hooks = kunit
    ptr = k.kmalloc(8, GFP_KERNEL)
    with no_report(hooks):
        k.kfree(k.phys_to_virt(k.virt_to_phys(ptr)))


def test_kasan_kmem_cache_oob(kunit):
    k, node, hooks = kunit
    size = 200
    cache = k.kmem_cache_create("test_cache", size)
    p = k.kmem_cache_alloc(cache, GFP_KERNEL)
    with kasan_fail(hooks, "out-of-bounds") as r:
        k.write(p, k.read(p + size, 1))
    assert "which belongs to the cache test_cache of size 200" in r.v.splat
    with no_report(hooks):
        k.kmem_cache_free(cache, p)
        km.slab_common.quarantine_flush()
        assert k.kmem_cache_destroy(cache)


def test_kasan_kmem_cache_double_free(kunit):
    k, node, hooks = kunit
    cache = k.kmem_cache_create("test_cache", 200)
    p = k.kmem_cache_alloc(cache, GFP_KERNEL)
    k.kmem_cache_free(cache, p)
    with kasan_fail(hooks, "double-free") as r:
        k.kmem_cache_free(cache, p)
    assert r.v.title == "BUG: KASAN: double-free in kmem_cache_free"
    km.slab_common.quarantine_flush()
    k.kmem_cache_destroy(cache)


def test_kasan_kmem_cache_invalid_free(kunit):
    k, node, hooks = kunit
    cache = k.kmem_cache_create("test_cache", 200, 0, SLAB_TYPESAFE_BY_RCU)
    p = k.kmem_cache_alloc(cache, GFP_KERNEL)
    with kasan_fail(hooks, "invalid-free") as r:
        k.kmem_cache_free(cache, p + 1)
    assert r.v.title == "BUG: KASAN: invalid-free in kmem_cache_free"
    with no_report(hooks):
        k.kmem_cache_free(cache, p)
        km.slab_common.quarantine_flush()
        assert k.kmem_cache_destroy(cache)


def test_kasan_kmem_cache_accounted(kunit):
    k, node, hooks = kunit
    from kernel_model.gfp import __GFP_ACCOUNT
    cache = k.kmem_cache_create("test_cache", 200)
    with no_report(hooks):
        for _ in range(5):
            p = k.kmem_cache_alloc(cache, GFP_KERNEL | __GFP_ACCOUNT)
            k.kmem_cache_free(cache, p)
        km.slab_common.quarantine_flush()
        assert k.kmem_cache_destroy(cache)


def test_kasan_kmem_cache_bulk(kunit):
    k, node, hooks = kunit
    size = 200
    cache = k.kmem_cache_create("test_cache", size)
    with no_report(hooks):
        p = k.kmem_cache_alloc_bulk(cache, GFP_KERNEL, 10)
        assert len(p) == 10 and len(set(p)) == 10
        for obj in p:
            k.write(obj, b"\x2a")
            k.write(obj + size - 1, b"\x2a")
        k.kmem_cache_free_bulk(cache, p)
        km.slab_common.quarantine_flush()
        assert k.kmem_cache_destroy(cache)


def test_kasan_kasan_memcmp(kunit):
    """The kernel compares with an array on the stack; the model has no stack, so
    the second buffer is a kzalloc'ed one of the array's size (36 bytes)."""
    k, node, hooks = kunit
    size = 24
    ptr = k.kmalloc(size, GFP_KERNEL | __GFP_ZERO)
    arr = k.kzalloc(36, GFP_KERNEL)
    with kasan_fail(hooks, "out-of-bounds") as r:
        k.memcmp(ptr, arr, size + 1)
    assert "Read of size 25" in r.v.splat
    k.kfree(ptr)
    k.kfree(arr)


def test_kasan_vmalloc_oob(kunit):
    k, node, hooks = kunit
    size = node.page_size // 2 - GRANULE - 5
    v_ptr = k.vmalloc(size)
    with no_report(hooks):
        k.write(v_ptr, b"\0")
        k.write(v_ptr + size - 1, b"\0")
    with kasan_fail(hooks, "out-of-bounds") as r:
        k.read(v_ptr + size, 1)
    assert r.v.title == "BUG: KASAN: vmalloc-out-of-bounds in test_kasan_vmalloc_oob"
    assert "The buggy address belongs to the virtual mapping at" in r.v.splat
    assert f" [{v_ptr:#x}, {v_ptr + 2 * node.page_size:#x}) created by:" in r.v.splat
    with kasan_fail(hooks, "out-of-bounds"):
        k.read(v_ptr + size + 5, 1)
    page = k.vmalloc_to_page(v_ptr)
    p_ptr = k.page_address(page)
    with no_report(hooks):
        k.write(p_ptr, b"\0")
        k.vfree(v_ptr)
