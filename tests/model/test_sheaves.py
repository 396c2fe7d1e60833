"""SLUB with per-CPU sheaves (kernel_model/sheaves.py): capacities as 7.0 computes
them, LIFO round trips, the main/spare swap, the barn at MAX_FULL_SHEAVES,
shrink and shutdown giving everything back, slabinfo, frees from another CPU
(in-process and across two CPU processes), prefilled sheaves, and the planted
sheaves_no_irq window."""

import os

import pytest

import kernel_model as km
from kernel_model import context, debug, pcp, planted, slab_common as sc
from kernel_model import sheaf_prefill as sp, sheaves as sv

from slab_helpers import RecordingHooks, run_cpus

CPU = context.CPU


@pytest.fixture
def node():
    with km.boot(total="32M", nr_cpus=2, page_data=True, slab="sheaves", slub_debug=False) as n:
        yield n


def consistent(node, held, caches=(), caller_sheaves=()):
    problems = sc.check_slabs(node, held)
    for c in caches:
        problems += sv.check_sheaves(c, caller_sheaves)
    assert problems == []


def test_sheaf_capacity_follows_the_kernel_formula():
    # 60 / 26 / 12 / 4 objects, rounded up so 32 + 8 * capacity is a kmalloc size
    assert sv.calculate_sheaf_capacity(64, 0, 4096, 0) == 60          # 512-byte sheaf
    assert sv.calculate_sheaf_capacity(256, 0, 4096, 0) == 28         # 240 -> 256 bytes
    assert sv.calculate_sheaf_capacity(1024, 0, 4096, 0) == 12        # 128 bytes
    assert sv.calculate_sheaf_capacity(4096, 0, 4096, 0) == 4         # 64 bytes
    assert sv.calculate_sheaf_capacity(64, 0, 4096, 90) == 90         # args.sheaf_capacity
    assert sv.calculate_sheaf_capacity(64, sc.SLAB_CONSISTENCY_CHECKS, 4096, 0) == 0


def test_boot_gives_kmalloc_caches_sheaves_and_create_takes_sheaf_capacity(node):
    assert node.slab.allocator.name == "sheaves" and node.slab.meta[0] == 3
    caps = {s.name: s.sheaf_capacity for s in sc.all_caches(node)}
    assert caps["kmalloc-64"] == 60 and caps["kmalloc-256"] == 28
    assert caps["kmalloc-1k"] == 12 and caps["kmalloc-4k"] == 4
    assert km.kmem_cache_create("asked", 64, sheaf_capacity=100).sheaf_capacity == 100
    hooks = RecordingHooks()
    old = debug.install(hooks)
    try:
        assert km.kmem_cache_create("too-many", 64, sheaf_capacity=500) is None
    finally:
        debug.install(old)
    assert hooks.reports and "sheaf_capacity 500" in hooks.reports[0][1]
    with pytest.raises(ValueError, match="sheaf_capacity"):
        km.kmem_cache_create("bad", 64, sheaf_capacity=-1)


def test_consistency_checks_cache_has_no_sheaves_and_takes_the_locked_route(node):
    c = km.kmem_cache_create("checked", 64, flags=sc.SLAB_CONSISTENCY_CHECKS)
    assert c.sheaf_capacity == 0 and c.locked
    objs = [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(100)]
    assert sc.slab_stats(c)["alloc_locked"] == 100
    consistent(node, objs, [c])
    for o in objs:
        km.kmem_cache_free(c, o)
    assert km.kmem_cache_destroy(c)


def test_round_trip_is_lifo_through_the_main_sheaf(node):
    c = km.kmem_cache_create("rt", 96)
    a = km.kmem_cache_alloc(c, km.GFP_KERNEL)
    main, _ = sv.pcs_sheaves(c, 0)
    size = sv.sheaf_size(c, main)
    km.kmem_cache_free(c, a)
    assert sv.sheaf_size(c, main) == size + 1 and sv.sheaf_objects(c, main)[-1] == a
    assert km.kmem_cache_alloc(c, km.GFP_KERNEL) == a          # the top of the sheaf
    st = sc.slab_stats(c)
    assert st["alloc_fastpath"] == 2 and st["free_fastpath"] == 1
    consistent(node, [a], [c])


def test_main_and_spare_swap_then_a_full_main_goes_to_the_barn(node):
    c = km.kmem_cache_create("swap", 64)
    cap = c.sheaf_capacity
    a = km.kmem_cache_alloc(c, km.GFP_KERNEL)       # empty main, nothing in the barn:
    f1, m0 = sv.pcs_sheaves(c, 0)                    # a new full sheaf becomes main,
    assert sv.sheaf_size(c, f1) == cap - 1 and sv.sheaf_size(c, m0) == 0   # the old one spare
    held = [a] + [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(cap - 1)]
    assert sv.sheaf_size(c, f1) == 0
    held.append(km.kmem_cache_alloc(c, km.GFP_KERNEL))   # the empty spare is refilled
    assert sv.pcs_sheaves(c, 0) == (m0, f1)
    assert sv.sheaf_size(c, m0) == cap - 1 and sv.sheaf_size(c, f1) == 0
    held += [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(cap)]
    assert sv.pcs_sheaves(c, 0) == (f1, m0) and sv.sheaf_size(c, f1) == cap - 1
    km.kmem_cache_free(c, held.pop())
    assert sv.pcs_sheaves(c, 0) == (f1, m0) and sv.sheaf_size(c, f1) == cap
    km.kmem_cache_free(c, held.pop())                # main full, spare empty: they swap
    assert sv.pcs_sheaves(c, 0) == (m0, f1)
    assert sv.sheaf_size(c, m0) == 1 and sv.sheaf_size(c, f1) == cap
    for _ in range(cap - 1):
        km.kmem_cache_free(c, held.pop())
    assert sv.sheaf_size(c, m0) == cap and sv.barn_counts(c) == (0, 0)
    km.kmem_cache_free(c, held.pop())                # both full: main to the barn, a new empty main
    main, spare = sv.pcs_sheaves(c, 0)
    assert spare == f1 and main not in (m0, f1) and sv.sheaf_size(c, main) == 1
    assert sv.barn_counts(c) == (1, 0)
    assert len(held) == cap - 1
    consistent(node, held, [c])


def test_barn_fills_to_max_full_sheaves_then_the_spare_is_flushed(node):
    c = km.kmem_cache_create("barn", 64)
    cap = c.sheaf_capacity
    n = (sv.MAX_FULL_SHEAVES + 4) * cap
    objs = [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(n)]
    assert sv.barn_counts(c) == (0, 0)
    consistent(node, objs, [c])
    for o in objs:
        km.kmem_cache_free(c, o)
    full, empty = sv.barn_counts(c)
    st = sv.sheaf_stats(c)
    assert full == sv.MAX_FULL_SHEAVES
    assert st["barn_put_fail"] >= 1 and st["sheaf_flush"] >= cap   # the full spare flushed
    assert sc.slab_stats(c)["free_slowpath"] == 0                   # every free went to a sheaf
    consistent(node, [], [c])
    # allocations now take full sheaves from the barn before touching a slab
    before = sc.slab_stats(c)["alloc_slab"]
    again = [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(4 * cap)]   # main, spare, 2 barn
    assert sv.sheaf_stats(c)["barn_get"] >= 2 and sv.barn_counts(c)[0] < full
    assert sc.slab_stats(c)["alloc_slab"] == before
    consistent(node, again, [c])


def test_atomic_allocation_with_nothing_cached_takes_the_slab_slow_path(node):
    c = km.kmem_cache_create("atomic", 64)
    a = km.kmem_cache_alloc(c, km.GFP_ATOMIC)           # cannot refill a sheaf: ___slab_alloc
    st = sc.slab_stats(c)
    assert a and st["alloc_slowpath"] == 1 and st["alloc_slab"] == 1
    assert sv.sheaf_stats(c)["barn_get_fail"] == 1
    b = km.kmem_cache_alloc(c, km.GFP_ATOMIC)           # from the partial list now
    assert b != a and sc.slab_stats(c)["alloc_from_partial"] == 1
    consistent(node, [a, b], [c])


def test_shrink_and_shutdown_give_everything_back(node):
    c = km.kmem_cache_create("give", 128)
    pcp.drain_all_pages(node)
    free_before = node.total_free_pages()
    objs = [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(20 * c.sheaf_capacity)]
    for o in objs:
        km.kmem_cache_free(c, o)
    assert sv.barn_counts(c)[0] > 0
    freed = km.kmem_cache_shrink(c)
    assert freed > 0 and sv.barn_counts(c) == (0, 0)
    main, spare = sv.pcs_sheaves(c, 0)
    assert sv.sheaf_size(c, main) == 0 and spare is None
    active, num, _, slabs = sv.slabinfo_counts(c)
    assert active == 0 and num == slabs * c.objects
    consistent(node, [], [c])
    # shutdown: objects in another CPU's sheaves come back too; live objects stop it
    context.set_this_cpu(CPU(1))
    x = km.kmem_cache_alloc(c, km.GFP_KERNEL)
    km.kmem_cache_free(c, km.kmem_cache_alloc(c, km.GFP_KERNEL))
    context.set_this_cpu(CPU(0))
    hooks = RecordingHooks()
    old = debug.install(hooks)
    try:
        assert not km.kmem_cache_destroy(c)
    finally:
        debug.install(old)
    assert any("Objects remaining" in t for _, t in hooks.reports)
    km.kmem_cache_free(c, x)
    assert km.kmem_cache_destroy(c)
    assert sv.slabinfo_counts(c) == (0, 0, 0, 0)
    pcp.drain_all_pages(node)
    assert node.total_free_pages() == free_before       # every slab page is back


def test_slabinfo_counts_objects_in_sheaves_as_active(node):
    c = km.kmem_cache_create("info", 200)
    held = [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(150)]
    for o in held[100:]:
        km.kmem_cache_free(c, o)
    held = held[:100]
    cached, probs = sv.cached_objects(c)
    assert probs == []
    active, num, active_slabs, slabs = sv.slabinfo_counts(c)
    assert active == len(held) + len(cached)
    assert num == slabs * c.objects and active_slabs == slabs
    line = next(ln for ln in km.slabinfo.slabinfo(node).splitlines() if ln.startswith("info "))
    assert line.split()[1:3] == [str(active), str(num)]
    consistent(node, held, [c])


def test_free_on_another_cpu_goes_to_that_cpus_sheaf(node):
    c = km.kmem_cache_create("remote", 64)
    a = km.kmem_cache_alloc(c, km.GFP_KERNEL)
    context.set_this_cpu(CPU(1))
    km.kmem_cache_free(c, a)
    main1, _ = sv.pcs_sheaves(c, 1)
    assert sv.sheaf_objects(c, main1) == [a]
    assert a not in sv.sheaf_objects(c, sv.pcs_sheaves(c, 0)[0])
    assert km.kmem_cache_alloc(c, km.GFP_ATOMIC) == a     # CPU 1 reuses it at once
    consistent(node, [a], [c])


def test_two_cpu_processes_free_each_others_objects():
    with km.boot(total="32M", nr_cpus=2, page_data=True, slab="sheaves") as node:
        c = km.kmem_cache_create("xcpu", 200)
        r, w = os.pipe()

        def work(cpu):
            if cpu == 0:                                   # allocate, hand to CPU 1
                os.close(r)
                for _ in range(30):
                    objs = [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(50)]
                    os.write(w, b"".join(o.to_bytes(8, "little") for o in objs))
                    for o in [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(20)]:
                        km.kmem_cache_free(c, o)
                os.close(w)
                return {}
            os.close(w)
            buf, n = b"", 0
            while True:
                chunk = os.read(r, 4096)
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= 8:
                    km.kmem_cache_free(c, int.from_bytes(buf[:8], "little"))
                    buf, n = buf[8:], n + 1
            return {"freed": n}

        res = run_cpus(node, work, parent_close=(r, w))
        assert res[1]["freed"] == 1500
        consistent(node, [], [c])
        st, sh = sc.slab_stats(c), sv.sheaf_stats(c)
        assert st["free_fastpath"] + st["free_slowpath"] == 1500 + 600
        assert sh["barn_put"] > 0 and sh["barn_get"] > 0   # CPU 1's full sheaves fed CPU 0
        assert km.kmem_cache_destroy(c)


def test_sheaf_sections_run_with_interrupts_off():
    class Watch(RecordingHooks):
        def __init__(self):
            super().__init__()
            self.sections = self.bad = 0

        def percpu_enter(self, what, cpu, protection):
            if what.startswith("cpu_sheaves:") and protection == "irq":
                self.sections += 1
                self.bad += not context.this_cpu.irqs_off

    with km.boot(total="32M", page_data=True, slab="sheaves"):
        c = km.kmem_cache_create("irqoff", 64)
        hooks = Watch()
        old = debug.install(hooks)
        try:
            objs = [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(300)]
            for o in objs:
                km.kmem_cache_free(c, o)
        finally:
            debug.install(old)
        assert hooks.sections >= 600 and hooks.bad == 0


def test_prefilled_sheaf_serves_its_objects_then_goes_back(node):
    c = km.kmem_cache_create("prefill", 64)
    cap = c.sheaf_capacity
    h = sp.kmem_cache_prefill_sheaf(c, km.GFP_KERNEL, 10)
    assert h and sp.kmem_cache_sheaf_size(c, h) >= 10
    got = [sp.kmem_cache_alloc_from_sheaf(c, km.GFP_KERNEL, h) for _ in range(10)]
    assert None not in got and len(set(got)) == 10
    consistent(node, got, [c], [h])
    err, h = sp.kmem_cache_refill_sheaf(c, km.GFP_KERNEL, h, cap)
    assert err == 0 and sp.kmem_cache_sheaf_size(c, h) == cap
    sp.kmem_cache_return_sheaf(c, km.GFP_KERNEL, h)
    consistent(node, got, [c])
    big = sp.kmem_cache_prefill_sheaf(c, km.GFP_KERNEL, cap + 20)   # oversize
    assert sp.kmem_cache_sheaf_size(c, big) == cap + 20
    assert sv.sheaf_stats(c)["sheaf_prefill_oversize"] == 1
    one = sp.kmem_cache_alloc_from_sheaf(c, km.GFP_KERNEL, big)
    consistent(node, got + [one], [c], [big])
    sp.kmem_cache_return_sheaf(c, km.GFP_KERNEL, big)                # flushed and freed
    consistent(node, got + [one], [c])
    with pytest.raises(ValueError, match="not a sheaf"):
        sp.kmem_cache_alloc_from_sheaf(c, km.GFP_KERNEL, big)
    assert sp.kmem_cache_prefill_sheaf(c, km.GFP_KERNEL, sv.SHEAF_MAX_CAPACITY + 1) is None


def test_planted_no_irq_lets_an_interrupt_take_the_same_object():
    """An interrupt in the window of the unlocked pop takes the same top object."""
    class Interrupt(debug.DebugHooks):
        def __init__(self, cache):
            self.cache, self.taken, self.armed = cache, [], True

        def slab_tid_window(self, what, cpu):
            if self.armed and what == "alloc_from_pcs":
                self.armed = False                         # the handler allocates too
                self.taken.append(km.kmem_cache_alloc(self.cache, km.GFP_ATOMIC))

    with km.boot(total="32M", page_data=True, slab="sheaves", slub_debug=False):
        c = km.kmem_cache_create("planted", 64)
        km.kmem_cache_free(c, km.kmem_cache_alloc(c, km.GFP_KERNEL))   # main has objects
        hooks = Interrupt(c)
        old = debug.install(hooks)
        try:
            planted.plant(["sheaves_no_irq"])
            a = km.kmem_cache_alloc(c, km.GFP_KERNEL)
        finally:
            planted.reset()
            debug.install(old)
        assert hooks.taken == [a]                          # handed out twice
        # with the lock the window does not exist: the same sequence is clean
        hooks = Interrupt(c)
        old = debug.install(hooks)
        try:
            b = km.kmem_cache_alloc(c, km.GFP_KERNEL)
        finally:
            debug.install(old)
        assert hooks.taken == [] and b != a


def test_a_refill_that_runs_out_of_pages_gives_its_objects_back(node):
    """refill_objects gets one slab's objects, then the page allocator fails: the
    half-filled sheaf is flushed before it is freed (the docstring's difference
    from the 7.0 text), and the allocation falls back to that slab."""
    class OnePage(debug.DebugHooks):
        def __init__(self):
            self.pages = 0

        def should_fail_alloc_page(self, gfp, order):
            self.pages += 1
            return self.pages > 1

    c = km.kmem_cache_create("enomem", 128)
    assert c.objects < c.sheaf_capacity                 # one slab cannot fill a sheaf
    hooks = OnePage()
    old = debug.install(hooks)
    try:
        a = km.kmem_cache_alloc(c, km.GFP_KERNEL)
    finally:
        debug.install(old)
    assert a is not None and hooks.pages >= 2
    st = sc.slab_stats(c)
    assert st["alloc_slab"] == 1 and st["alloc_slowpath"] == 1 and st["alloc_from_partial"] == 1
    assert sv.sheaf_stats(c)["sheaf_flush"] == c.objects
    consistent(node, [a], [c])
