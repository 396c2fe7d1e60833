"""lib/slub_kunit.c (Linux 6.12), case by case.

The kernel cases corrupt an object with KASAN switched off for the task
(kasan_disable_current) and then count SLUB_DEBUG's errors with
validate_slab_cache().  The model has no validate_slab_cache: SLUB_DEBUG's
check_object runs when the object is freed or allocated again, so each port
makes the corruption with ``poke`` (bytes written without the KASAN hook) and
then frees or reallocates the object; the kernel's two slab_errors (the
report and its "FIX ...: Restoring" line) are one report here, of the kind
and with the words of the kernel's report.
"""

from kunit_helpers import kasan_fail, no_report

import kernel_model as km
from kernel_model import slab_common as sc
from kernel_model.gfp import GFP_KERNEL, __GFP_ZERO
from kernel_model.slab_debug import SLUB_RED_ACTIVE

one_slub_report = kasan_fail


def poke(node, addr, data):
    """A write with KASAN off for this task (kasan_disable_current)."""
    off = addr - node.page_offset
    node.data[off:off + len(data)] = data


def peek(node, addr, n):
    off = addr - node.page_offset
    return bytes(node.data[off:off + n])


def create(k, name, size, flags):
    s = k.kmem_cache_create(name, size, 0, flags)
    assert s is not None
    return s


def test_slub_clobber_zone(kunit):
    k, node, hooks = kunit
    s = create(k, "TestSlub_RZ_alloc", 64, sc.SLAB_RED_ZONE)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    poke(node, p + 64, b"\x12")
    with one_slub_report(hooks, "out-of-bounds") as r:
        k.kmem_cache_free(s, p)
    assert r.v.title == "BUG TestSlub_RZ_alloc (Not tainted): Right Redzone overwritten"
    assert f"{p + 64:#x}-{p + 64:#x} @offset=64. First byte 0x12 instead of 0xcc" in r.v.splat
    with no_report(hooks):
        sc.quarantine_flush()
        assert k.kmem_cache_destroy(s)


def _free_then_clobber(k, node, hooks, name, offset, value, kind, what, flags=sc.SLAB_POISON):
    s = create(k, name, 64, flags)
    node.slab.quarantine_max = 0          # the object comes back at the next allocation
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    k.kmem_cache_free(s, p)
    poke(node, p + offset, bytes([value]))
    with one_slub_report(hooks, kind) as r:
        q = k.kmem_cache_alloc(s, GFP_KERNEL)
    assert q == p
    assert r.v.title == f"BUG {name} (Not tainted): {what} overwritten"
    assert f"@offset={offset}. First byte {value:#x}" in r.v.splat
    with no_report(hooks):
        k.kmem_cache_free(s, q)
        assert k.kmem_cache_destroy(s)


def test_slub_first_word(kunit):
    k, node, hooks = kunit
    _free_then_clobber(k, node, hooks, "TestSlub_1th_word_free", 0, 0x78, "use-after-free",
                       "Poison")


def test_slub_clobber_50th_byte(kunit):
    k, node, hooks = kunit
    _free_then_clobber(k, node, hooks, "TestSlub_50th_word_free", 50, 0x9A, "use-after-free",
                       "Poison")


def test_slub_clobber_redzone_free(kunit):
    k, node, hooks = kunit
    _free_then_clobber(k, node, hooks, "TestSlub_RZ_free", 64, 0xAB, "out-of-bounds",
                       "Right Redzone", sc.SLAB_RED_ZONE)


def test_slub_kmalloc_redzone_access(kunit):
    k, node, hooks = kunit
    s = create(k, "TestSlub_RZ_kmalloc", 32, sc.SLAB_KMALLOC | sc.SLAB_STORE_USER | sc.SLAB_RED_ZONE)
    p = node.slab.allocator.slab_alloc_node(s, GFP_KERNEL, 18)      # kmalloc_trace(s, gfp, 18)
    poke(node, p + 18, b"\xab\xab")
    with one_slub_report(hooks, "out-of-bounds") as r:
        k.kmem_cache_free(s, p)
    assert r.v.title == "BUG TestSlub_RZ_kmalloc (Not tainted): kmalloc Redzone overwritten"
    assert f"@offset=18. First byte 0xab instead of {SLUB_RED_ACTIVE:#x}" in r.v.splat
    with no_report(hooks):
        sc.quarantine_flush()
        assert k.kmem_cache_destroy(s)


def test_slub_leak_destroy(kunit):
    k, node, hooks = kunit
    s = create(k, "TestSlub_leak_destroy", 64, 0)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    with one_slub_report(hooks, "cache-destroy-live") as r:
        assert not k.kmem_cache_destroy(s)
    assert "Objects remaining in TestSlub_leak_destroy on __kmem_cache_shutdown()" in r.v.title
    k.kmem_cache_free(s, p)


def test_slub_krealloc_redzone_zeroing(kunit):
    k, node, hooks = kunit
    s = create(k, "TestSlub_krealloc", 64, sc.SLAB_KMALLOC | sc.SLAB_STORE_USER | sc.SLAB_RED_ZONE)
    p = node.slab.allocator.slab_alloc_node(s, GFP_KERNEL, 48)
    poke(node, p, b"\xff" * 48)
    with no_report(hooks):
        p = km.krealloc(p, 40, GFP_KERNEL | __GFP_ZERO)                 # shrink
        assert peek(node, p + 40, 24) == bytes([SLUB_RED_ACTIVE]) * 24
        p = km.krealloc(p, 56, GFP_KERNEL | __GFP_ZERO)                 # grow in the object
        assert peek(node, p + 40, 16) == bytes(16)
        assert peek(node, p + 56, 8) == bytes([SLUB_RED_ACTIVE]) * 8
        poke(node, p, b"\xff" * 56)
        p = km.krealloc(p, 112, GFP_KERNEL | __GFP_ZERO)                # a new 128-byte object
        assert peek(node, p, 56) == b"\xff" * 56
        assert peek(node, p + 56, 56) == bytes(56)
        km.kfree(p)
        sc.quarantine_flush()
        assert k.kmem_cache_destroy(s)
