"""The frees-and-memory checkers (memory, kmemleak) catch each bug in the kernel's
words, with the object's alloc and free sites, and stay silent on correct code.

In-process: one booted model with slab debug data, CheckerHooks installed as
a CPU installs them.  ``access`` is what k.read/k.write do (the KASAN hook,
then the bytes); ``poke`` writes bytes without the hook, as a bug the KASAN
hook does not see would (found later by SLUB_DEBUG).
"""

import pytest

import kernel_model as km
from harness import checkers
from kernel_model import context as c, debug, gfp as g, planted, slub
from kernel_model import slab_common as sc

from harness.checkers import kmemleak

GK = g.GFP_KERNEL


@pytest.fixture
def kit(booted, debug_hooks):
    node = booted(total="32M", nr_cpus=2, page_data=True, slab="slub",
                  extra_sections=checkers.arena_sections(("memory", "kmemleak")))
    return node, debug_hooks(checkers.build(["memory", "kmemleak"], node))


def kinds(hooks):
    return [v.kind for v in hooks.sink.violations]


def only(hooks, kind):
    vs = hooks.sink.violations
    assert [v.kind for v in vs] == [kind], [v.splat for v in vs]
    return vs[0]


def access(node, addr, data=None, n=None):
    """k.write(addr, data) / k.read(addr, n) without a harness CPU."""
    size = len(data) if data is not None else n
    debug.hooks.memory_access(addr, size, data is not None)
    off = addr - node.page_offset
    if data is not None:
        node.data[off:off + size] = data
    return bytes(node.data[off:off + size])


def poke(node, addr, data):
    off = addr - node.page_offset
    node.data[off:off + len(data)] = data


def on_cpu(cpu, fn):
    old = c.this_cpu
    c.set_this_cpu(c.CPU(cpu, pid=1000 + cpu))
    try:
        return fn()
    finally:
        c.set_this_cpu(old)


def assert_sites(v, alloc=True, free=True):
    text = v.splat
    if alloc:
        assert "Allocated by task" in text and "on cpu" in text and "process context, op " in text
        assert "test_checker_memory.py:" in v.tracks["alloc"]["site"]
    if free:
        assert "Freed by task" in text and "test_checker_memory.py:" in v.tracks["free"]["site"]
    assert "test_checker_memory.py:" in v.site


# --- double free ---------------------------------------------------------------------------
def test_double_free_same_cpu_after_a_fast_path_free(kit):
    node, hooks = kit
    a = km.kmalloc(64, GK)
    s = sc.find_cache("kmalloc-64", node)
    before = sc.slab_stats(s)["free_fastpath"]
    km.kfree(a)
    assert sc.slab_stats(s)["free_fastpath"] == before + 1     # the first free: per-CPU freelist
    km.kfree(a)
    v = only(hooks, "double-free")
    assert v.title == "BUG: KASAN: double-free in kfree"
    assert f"Free of addr {a:#x} by task" in v.splat
    assert "which belongs to the cache kmalloc-64 of size 64" in v.splat
    assert "already free" in v.splat
    assert_sites(v)
    assert km.kmalloc(64, GK) == a and km.kmalloc(64, GK) != a   # the freelist survived


def test_double_free_on_two_cpus_names_both(kit):
    node, hooks = kit
    a = km.kmalloc(128, GK)
    on_cpu(1, lambda: km.kfree(a))
    km.kfree(a)
    v = only(hooks, "double-free")
    assert "The first free ran on CPU 1, this one on CPU 0" in v.splat
    assert "Freed by task 1001 on cpu 1" in v.splat
    assert v.tracks["free"]["cpu"] == 1 and v.tracks["free"]["context"] == "process"


def test_kmem_cache_double_free_is_reported_in_kmem_cache_free(kit):
    node, hooks = kit
    s = km.kmem_cache_create("mm_test_obj", 100)
    o = km.kmem_cache_alloc(s, GK)
    km.kmem_cache_free(s, o)
    km.kmem_cache_free(s, o)
    assert only(hooks, "double-free").title == "BUG: KASAN: double-free in kmem_cache_free"


def test_per_cpu_freelist_head_check_and_its_planted_removal(kit):
    """SLAB_FREELIST_HARDENED's set_freepointer check, reached when a double free
    slips past the debug state (an interrupt freeing the same object in between,
    emulated by calling do_slab_free directly)."""
    node, hooks = kit
    s = sc.find_cache("kmalloc-96", node)
    a = km.kmalloc(96, GK)
    km.kfree(a)                                   # a is now the head of c->freelist
    head = sc.virt_to_slab(node, a)
    slub.do_slab_free(s, head, a)
    v = only(hooks, "double-free")
    assert "set_freepointer" in v.splat and "already the head of CPU 0's freelist" in v.splat
    assert km.kmalloc(96, GK) == a and km.kmalloc(96, GK) != a
    assert len(hooks.sink.violations) == 1

    planted.plant(["slub_skip_double_free"])
    b = km.kmalloc(96, GK)
    km.kfree(b)
    slub.do_slab_free(s, head, b)                 # no check: b -> b, a freelist loop
    assert len(hooks.sink.violations) == 1
    assert km.kmalloc(96, GK) == b
    v = hooks.sink.violations[-1]
    assert v.kind == "freelist-corrupt" and v.title == "BUG kmalloc-96 (Not tainted): Freechain corrupt"
    assert "points at the object itself" in v.splat


def test_object_handed_out_twice_is_freelist_corruption(kit):
    node, hooks = kit
    s = sc.find_cache("kmalloc-192", node)
    a = km.kmalloc(192, GK)
    slub.do_slab_free(s, sc.virt_to_slab(node, a), a)   # freed behind the debug state's back
    assert km.kmalloc(192, GK) == a
    v = only(hooks, "freelist-corrupt")
    assert "handed out while its debug state says it is allocated" in v.splat
    assert_sites(v, free=False)


# --- invalid and wrong-cache frees --------------------------------------------------------
def test_invalid_frees(kit):
    node, hooks = kit
    a = km.kmalloc(64, GK)
    km.kfree(a + 8)
    v = only(hooks, "invalid-free")
    assert v.title == "BUG: KASAN: invalid-free in kfree"
    assert "located 8 bytes inside of" in v.splat and "Invalid object pointer" in v.splat
    assert_sites(v, free=False)
    page = km.__get_free_pages(GK, 0)
    km.kfree(page + 16)
    s = km.kmem_cache_create("mm_test_inv", 64)
    km.kmem_cache_free(s, page)
    assert kinds(hooks) == ["invalid-free"] * 3
    assert "does not belong to any slab object" in hooks.sink.violations[1].splat
    assert "outside of slab" in hooks.sink.violations[2].splat
    km.kfree(a)
    km.free_pages(page, 0)
    assert len(hooks.sink.violations) == 3


def test_wrong_cache(kit):
    node, hooks = kit
    s1, s2 = km.kmem_cache_create("mm_test_a", 64), km.kmem_cache_create("mm_test_b", 64)
    o = km.kmem_cache_alloc(s2, GK)
    km.kmem_cache_free(s1, o)
    v = only(hooks, "wrong-cache")
    assert v.title == "kmem_cache_free: Wrong slab cache. mm_test_a but object is from mm_test_b"
    assert_sites(v, free=False)


def test_free_pages_with_the_wrong_order_is_a_bad_page(kit):
    node, hooks = kit
    addr = km.__get_free_pages(GK, 1)
    km.free_pages(addr, 0)
    v = only(hooks, "bad-page")
    assert v.title.startswith("BUG: Bad page state in process")
    assert "freed with order 0 but allocated with order 1" in v.splat
    ok = km.__get_free_pages(GK, 2)
    km.free_pages(ok, 2)
    assert len(hooks.sink.violations) == 1


# --- use after free and out of bounds --------------------------------------------------------
def test_use_after_free_read_is_reported_at_the_access(kit):
    node, hooks = kit
    a = km.kmalloc(64, GK)
    access(node, a, b"hello")
    km.kfree(a)
    assert kinds(hooks) == []
    access(node, a + 4, n=8)
    v = only(hooks, "use-after-free")
    assert v.title == "BUG: KASAN: slab-use-after-free in access"     # the function doing it
    assert f"Read of size 8 at addr {a + 4:#x}" in v.splat
    row = next(ln for ln in v.splat.splitlines() if ln.startswith(">"))
    assert "fb fb" in row                         # KASAN_SLAB_FREE: the freed object
    assert "located 4 bytes inside of\n freed 64-byte region" in v.splat
    assert_sites(v)


def test_use_after_free_write_is_found_again_as_poison_overwritten(kit):
    node, hooks = kit
    a = km.kmalloc(64, GK)
    km.kfree(a)
    poke(node, a + 10, b"XY")                     # a write the KASAN hook did not see
    assert km.kmalloc(64, GK) == a                # reallocation runs check_object
    v = only(hooks, "use-after-free")
    assert v.title == "BUG kmalloc-64 (Not tainted): Poison overwritten"
    assert v.splat.startswith("=" * 77 + "\nBUG kmalloc-64")
    assert f"{a + 10:#x}-{a + 11:#x} @offset=10. First byte 0x58 instead of 0x6b" in v.splat
    assert_sites(v)
    km.kfree(a)                                   # restored: the next cycle is clean
    assert km.kmalloc(64, GK) == a and len(hooks.sink.violations) == 1


def test_out_of_bounds_access_and_redzones_at_free(kit):
    node, hooks = kit
    a = km.kmalloc(50, GK)
    access(node, a, bytes(50))                    # the whole requested size: fine
    assert kinds(hooks) == []
    access(node, a + 48, b"1234")
    v = only(hooks, "out-of-bounds")
    assert v.title == "BUG: KASAN: slab-out-of-bounds in access"
    assert f"Write of size 4 at addr {a + 48:#x}" in v.splat      # the access, not its first bad byte
    assert "located 48 bytes inside of\n allocated 50-byte region" in v.splat
    assert "Memory state around the buggy address:" in v.splat
    row = next(ln for ln in v.splat.splitlines() if ln.startswith(">"))
    assert " 00 00 00 00 00 00 02 fc" in row         # 48 good bytes, 2 of the next granule, redzone
    km.kfree(a)                                   # the write hit the kmalloc redzone: SLUB_DEBUG
    assert kinds(hooks) == ["out-of-bounds"]      # sees it too, but KASAN reported the object already

    b = km.kmalloc(64, GK)
    poke(node, b + 64, b"\x00")
    km.kfree(b)
    assert hooks.sink.violations[-1].title == "BUG kmalloc-64 (Not tainted): Right Redzone overwritten"
    poke(node, b - 1, b"\x00")
    km.kmalloc(64, GK)                            # b again: the free object's left redzone
    assert hooks.sink.violations[-1].title == "BUG kmalloc-64 (Not tainted): Left Redzone overwritten"
    assert kinds(hooks) == ["out-of-bounds"] * 3


def test_ksize_reports_the_size_class_but_keeps_the_redzone(kit):
    """6.12: ksize() is reporting-only (since 6.2); bytes past the size asked for stay
    out of bounds (KASAN now, SLUB's kmalloc redzone at free); krealloc grows."""
    node, hooks = kit
    a = km.kmalloc(40, GK)
    n = km.ksize(a)
    assert n == 64
    access(node, a, b"z" * 40)
    assert kinds(hooks) == []
    access(node, a + 40, b"z")
    assert kinds(hooks) == ["out-of-bounds"]
    b = km.krealloc(a, n, GK)
    assert b == a
    access(node, a, b"z" * n)
    km.kfree(a)
    assert kinds(hooks) == ["out-of-bounds"]


# --- vfree, cache destroy ----------------------------------------------------------------------
def test_bad_vfree(kit):
    node, hooks = kit
    a = km.kmalloc(64, GK)
    km.vfree(a)
    v = only(hooks, "bad-vfree")
    assert v.title.startswith("Trying to vfree() bad address")
    assert "is an object of the slab cache kmalloc-64" in v.splat and "kfree()" in v.splat
    v = km.vmalloc(3 * node.page_size)
    km.vfree(v)
    km.vfree(v)
    assert kinds(hooks) == ["bad-vfree"] * 2
    assert "nonexistent vm area" in hooks.sink.violations[1].title
    km.kfree(a)


def test_cache_destroy_with_live_objects_and_its_twin(kit):
    node, hooks = kit
    s = km.kmem_cache_create("mm_test_live", 100)
    objs = [km.kmem_cache_alloc(s, GK) for _ in range(3)]
    assert not km.kmem_cache_destroy(s)
    v = only(hooks, "cache-destroy-live")
    assert v.title == ("BUG mm_test_live (Not tainted): Objects remaining in mm_test_live on "
                       "__kmem_cache_shutdown()")
    assert f"Object {objs[0]:#x}" in v.splat and "3 object(s) still allocated" in v.splat
    assert "kmem_cache_destroy mm_test_live: Slab cache still has objects" in v.splat
    assert "test_checker_memory.py:" in v.tracks["alloc"]["site"]
    for o in objs:
        km.kmem_cache_free(s, o)
    assert km.kmem_cache_destroy(s)
    assert len(hooks.sink.violations) == 1


# --- leaks -------------------------------------------------------------------------------------
def leak_some(n):
    out = []
    for _ in range(n):
        out.append(km.kmalloc(40, GK))
    return out


def test_leaks_are_listed_by_site_with_sizes(kit):
    node, hooks = kit
    objs = leak_some(3)
    km.kfree(objs.pop())
    v_addr = km.vmalloc(2 * node.page_size)
    kept = on_cpu(1, lambda: km.kmalloc(300, GK))     # CPU 1's leak is named by its own track
    hooks.finish()                                     # a CPU reports no leak: the machine scans
    assert kinds(hooks) == []
    vs = kmemleak.KmemleakChecker(None, node).scan(roots=())
    assert [v.kind for v in vs] == ["leak", "leak", "leak"]
    slab_leak = next(v for v in vs if "(size 40)" in v.title)
    assert slab_leak.title in (f"unreferenced object {objs[0]:#x} (size 40):",
                               f"unreferenced object {objs[1]:#x} (size 40):")
    assert "kmemleak: 2 new suspected memory leaks" in slab_leak.splat
    assert "hex dump (first 32 bytes):" in slab_leak.splat
    assert "test_checker_memory.py:" in slab_leak.site and "(leak_some)" in slab_leak.site
    assert f"{kept:#x}" not in slab_leak.splat and slab_leak.cpu == 0
    cpu1 = next(v for v in vs if "(size 300)" in v.title)
    assert cpu1.cpu == 1 and f"{kept:#x}" in cpu1.title
    assert any(f"unreferenced object {v_addr:#x} (size {2 * node.page_size}):" in v.splat for v in vs)


def test_an_object_a_root_refers_to_is_not_a_leak(kit):
    node, _hooks = kit
    objs = leak_some(3)
    inner = objs[1] + 8                                # a pointer into the object counts too
    vs = kmemleak.KmemleakChecker(None, node).scan(roots=[objs[0], inner])
    assert len(vs) == 1 and "kmemleak: 1 new suspected memory leak " in vs[0].splat
    assert f"{objs[2]:#x}" in vs[0].splat


# --- silence on correct code ------------------------------------------------------------------
def test_correct_code_is_silent(kit):
    node, hooks = kit
    s = km.kmem_cache_create("mm_test_ok", 72)
    held = []                                     # (addr, cache or None)

    def free(item):
        addr, cache = item
        km.kmem_cache_free(cache, addr) if cache else km.kfree(addr)

    for i in range(400):
        size = (8, 50, 64, 100, 600, 3000, 9000)[i % 7]
        a = km.kzalloc(size, GK) if i % 3 else km.kmalloc(size, GK)
        access(node, a, bytes([i & 0xFF]) * size)
        assert access(node, a, n=size) == bytes([i & 0xFF]) * size
        if i % 5 == 0:
            a = km.krealloc(a, size // 2 + 1, GK)
        held += [(a, None), (km.kmem_cache_alloc(s, GK), s)]
        if len(held) > 40:
            for item in held[:20]:
                free(item)
            del held[:20]
    km.vfree(km.vmalloc(5000))
    km.free_pages(km.__get_free_pages(GK, 2), 2)
    on_cpu(1, lambda: [km.kfree(km.kmalloc(64, GK)) for _ in range(10)])
    for item in held:
        free(item)
    assert km.kmem_cache_destroy(s)
    hooks.finish()
    on_cpu(1, lambda: hooks.finish())
    assert hooks.sink.violations == [], [v.splat for v in hooks.sink.violations]


def test_a_constructor_may_write_its_new_object_but_nobody_else_may(kit):
    """setup_object(): the kernel runs a ctor on a still-free object with KASAN
    unpoisoned; the same write from outside the ctor is a use-after-free."""
    node, hooks = kit
    seen = []

    def ctor(obj):
        access(node, obj, b"\x5a" * 16)            # k.write from inside the constructor
        seen.append(obj)

    s = km.kmem_cache_create("ctor_cache", 64, ctor=ctor)
    obj = km.kmem_cache_alloc(s, GK)
    assert seen and not hooks.sink.violations
    assert access(node, obj, n=16) == b"\x5a" * 16
    free = next(o for o in seen if o != obj)        # another object of the new slab, still free
    access(node, free, b"\x00" * 8)
    only(hooks, "use-after-free")
    km.kmem_cache_free(s, obj)
