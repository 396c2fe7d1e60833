"""KASAN outside the slab (harness/checkers/kasan_pages.py): page allocator,
large kmalloc and vmalloc memory are poisoned on free and past their size,
reported in the kernel's words with their sites -- and correct accesses,
reuse after free included, stay silent.

In-process: a booted model with the checker's shadow sections; ``access`` is
what k.read/k.write do for a mapped address (the KASAN hook, then the
bytes); ``fault`` is what they do for an unmapped one.
"""

import importlib

import pytest

import kernel_model as km
from harness.checkers import kmemleak
from harness import checkers
from harness import scenario
from harness.supervisor import machine
from kernel_model import context as c, debug, gfp as g, planted

GK = g.GFP_KERNEL
NAMES = ("memory", "kasan_pages")


@pytest.fixture
def kit():
    layout = km.MemoryLayout(total="32M")
    with km.boot(layout, nr_cpus=2, page_data=True, slab="slub",
                 extra_sections=checkers.arena_sections(NAMES, nr_pages=layout.nr_pages)) as node:
        hooks = checkers.build(list(NAMES), node)
        old = debug.install(hooks)
        try:
            yield node, hooks
        finally:
            debug.install(old)
            planted.reset()


def kinds(hooks):
    return [v.kind for v in hooks.sink.violations]


def access(addr, n=1, write=True):
    debug.hooks.memory_access(addr, n, write)


def fault(addr, n=1, write=True):
    return debug.hooks.kernel_fault(addr, n, write)


def on_cpu(cpu, fn):
    old = c.this_cpu
    c.set_this_cpu(c.CPU(cpu, pid=1000 + cpu))
    try:
        return fn()
    finally:
        c.set_this_cpu(old)


# --- page allocator ---------------------------------------------------------------------------
def test_page_use_after_free_is_reported_with_both_sites(kit):
    node, hooks = kit
    p = km.__get_free_pages(GK, 1)
    access(p + 4104)                                   # allocated: silent
    assert kinds(hooks) == []
    km.free_pages(p, 1)
    access(p + 4104)
    [v] = hooks.sink.violations
    assert v.kind == "use-after-free"
    assert v.title == "BUG: KASAN: use-after-free in access"         # the function that touched it
    assert f"Write of size 1 at addr {p + 4104:#x}" in v.text
    assert "The buggy address belongs to the physical page:" in v.text
    assert "head: order:1" in v.text and "page last allocated via order 1" in v.text
    assert "gfp_mask 0xcc0(GFP_KERNEL)" in v.text and "page last free pid" in v.text
    assert "test_checker_kasan_pages.py:" in v.tracks["alloc"]["site"]
    assert "test_checker_kasan_pages.py:" in v.tracks["free"]["site"]


def test_pages_allocated_again_are_unpoisoned(kit):
    node, hooks = kit
    p = km.__get_free_pages(GK, 0)
    km.free_pages(p, 0)
    q = km.__get_free_pages(GK, 0)                     # the per-CPU list hands it back
    assert q == p
    access(q, 64)
    km.free_pages(q, 0)
    assert kinds(hooks) == []


def test_a_page_freed_on_another_cpu_names_that_cpu(kit):
    node, hooks = kit
    page = km.alloc_pages(GK, 2)
    addr = km.page_address(page)
    on_cpu(1, lambda: km.__free_pages(page, 2))
    access(addr + 3 * node.page_size, 8, False)
    [v] = hooks.sink.violations
    assert "Read of size 8" in v.text and "page last free pid 1001, cpu 1" in v.text


def test_slab_pages_are_left_to_the_memory_checker(kit):
    node, hooks = kit
    a = km.kmalloc(64, GK)
    km.kfree(a)
    access(a)
    assert [v.title.split(" in ")[0] for v in hooks.sink.violations] == \
        ["BUG: KASAN: slab-use-after-free"]


# --- large kmalloc ----------------------------------------------------------------------------
def test_large_kmalloc_out_of_bounds_and_use_after_free(kit):
    node, hooks = kit
    a = km.kmalloc(40000, GK)
    access(a, 40000)
    assert kinds(hooks) == []
    access(a + 39999, 2)
    v = hooks.sink.violations[0]
    assert v.kind == "out-of-bounds" and "slab-out-of-bounds" in v.title
    assert f"Write of size 2 at addr {a + 40000:#x}" in v.text
    assert f"allocated 40000-byte region [{a:#x}, {a + 40000:#x})" in v.text
    km.kfree(a)
    access(a + 8, 1, False)
    assert kinds(hooks) == ["out-of-bounds", "use-after-free"]
    assert "freed 40000-byte region" in hooks.sink.violations[1].text


def test_large_krealloc_moves_the_redzone(kit):
    node, hooks = kit
    a = km.kmalloc(9000, GK)
    b = km.krealloc(a, 9500, GK)                       # still fits its 16 KiB: same pages
    assert b == a
    access(a + 9400)
    assert kinds(hooks) == []
    access(a + 9500)
    assert kinds(hooks) == ["out-of-bounds"]
    km.kfree(b)


def test_large_kmalloc_leaks_are_kmemleak_objects_named_by_the_cpu_that_made_them(kit):
    node, hooks = kit
    checker = next(x for x in hooks.checkers if x.name == "kasan_pages")
    keep = km.kmalloc(20000, GK)
    freed = km.kmalloc(20000, GK)
    km.kfree(freed)
    other = on_cpu(1, lambda: km.kmalloc(30000, GK))
    live = {a: (n, t["cpu"]) for a, n, t in checker.large_objects()}
    assert live == {keep: (20000, 0), other: (30000, 1)}
    vs = kmemleak.KmemleakChecker(None, node).scan(roots=[other])      # other is still referenced
    [v] = [v for v in vs if v.objects and v.objects[0].get("cache") == "kmalloc-large"]
    assert v.kind == "leak" and v.title == f"unreferenced object {keep:#x} (size 20000):"
    assert "kmemleak: 1 new suspected memory leak " in v.splat and v.cpu == 0
    km.kfree(keep)
    km.kfree(other)
    assert checker.large_objects() == []


# --- vmalloc ---------------------------------------------------------------------------------
def test_vmalloc_out_of_bounds_inside_the_last_page(kit):
    node, hooks = kit
    v = km.vmalloc(5000)
    access(v, 5000)
    assert kinds(hooks) == []
    access(v + 5040)
    [r] = hooks.sink.violations
    assert r.kind == "out-of-bounds" and "BUG: KASAN: vmalloc-out-of-bounds in" in r.title
    assert "The buggy address belongs to the virtual mapping at" in r.text
    assert f" [{v:#x}, {v + 3 * node.page_size:#x}) created by:" in r.text
    assert " vmalloc(5000) at test_checker_kasan_pages.py:" in r.text
    km.vfree(v)


def test_vmalloc_guard_page_and_use_after_free_are_faults(kit):
    node, hooks = kit
    v = km.vmalloc(node.page_size)
    assert fault(v + node.page_size, 4)
    r = hooks.sink.violations[0]
    assert r.kind == "out-of-bounds" and "guard page" in r.text
    assert f"BUG: unable to handle page fault for address: {v + node.page_size:#x}" in r.text
    km.vfree(v)
    assert fault(v, 1, False)
    r = hooks.sink.violations[1]
    assert r.kind == "use-after-free" and "freed by vfree() at test_checker_kasan_pages.py:" in r.text
    assert "#PF: supervisor read access in kernel mode" in r.text
    assert "test_checker_kasan_pages.py:" in r.tracks["free"]["site"]


def test_reused_vmalloc_slots_are_unpoisoned(kit):
    node, hooks = kit
    v = km.vmalloc(2 * node.page_size)
    km.vfree(v)
    # vfree is lazy (mm/vmalloc.c): the range comes back only with the purge
    importlib.import_module("kernel_model.vmalloc").purge_vmap_area_lazy()
    w = km.vmalloc(2 * node.page_size)
    assert w == v
    access(w, 2 * node.page_size)
    km.vfree(w)
    assert kinds(hooks) == []


def test_null_and_wild_addresses_are_left_to_the_oops(kit):
    node, hooks = kit
    assert not fault(0, 8)
    assert not fault(node.page_offset + (node.nr_pages << node.page_shift), 8)
    assert kinds(hooks) == []


def test_without_its_shadow_sections_the_checker_checks_nothing():
    with km.boot(total="32M", nr_cpus=1, page_data=True, slab="slub",
                 extra_sections=checkers.arena_sections(NAMES)) as node:
        hooks = checkers.build(list(NAMES), node)
        old = debug.install(hooks)
        try:
            p = km.__get_free_pages(GK, 0)
            km.free_pages(p, 0)
            access(p)
            v = km.vmalloc(100)
            km.vfree(v)
            assert not fault(v)
            assert kinds(hooks) == []
        finally:
            debug.install(old)


# --- through the k API in a run ----------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["vmalloc_guard_page", "vmalloc_use_after_free"])
def test_a_fault_in_a_run_is_a_kernel_report_not_a_workload_error(name):
    sc = scenario.resolve(f"{scenario.SCENARIO_DIR}/bugs/{name}.toml")
    result = machine.run(sc, 7)
    assert result.exit_code == 1
    assert result.failures == []
    assert {v["kind"] for v in result.violations} == set(sc.expect)
    assert all("BUG: KASAN: vmalloc-out-of-bounds" in v["title"] for v in result.violations)


# --- every mode, many seeds ------------------------------------------------------------------
KASAN_BUGS = ["page_use_after_free", "vmalloc_out_of_bounds", "vmalloc_guard_page",
              "vmalloc_use_after_free", "kmalloc_large_out_of_bounds",
              "kmalloc_large_use_after_free", "kmalloc_large_leak"]


def _run(name, seed, sched):
    from harness.scheduler.options import SchedOptions
    sc = scenario.resolve(f"{scenario.SCENARIO_DIR}/bugs/{name}.toml")
    opts = SchedOptions(strategy=sched)
    return sc, machine.run(machine.for_schedule(sc, opts), seed, sched=opts)


@pytest.mark.slow
@pytest.mark.parametrize("sched", ["none", "free", "random", "pct"])
@pytest.mark.parametrize("name", KASAN_BUGS)
def test_kasan_bug_is_found_and_its_twin_is_clean_in_every_mode(name, sched):
    sc, result = _run(name, 11, sched)
    assert result.exit_code == 1
    assert set(sc.expect) <= {v["kind"] for v in result.violations}
    sc, result = _run(name + "_ok", 11, sched)
    assert result.exit_code == 0, [v["title"] for v in result.violations]


@pytest.mark.nightly
@pytest.mark.parametrize("name", KASAN_BUGS)
def test_kasan_twins_are_clean_over_200_seeds(name):
    sc = scenario.resolve(f"{scenario.SCENARIO_DIR}/bugs/{name}_ok.toml")
    for seed in range(200):
        result = machine.run(sc, seed)
        assert result.exit_code == 0, (seed, [v["title"] for v in result.violations])
