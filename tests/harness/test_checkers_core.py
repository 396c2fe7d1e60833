"""Each core checker catches the bug it names and stays silent on the correct twin."""

import os

import pytest

import kernel_model as km
from harness import checkers
from harness.checkers.kinds import KINDS, explain
from kernel_model import context as c, debug, gfp as g, page_alloc, spinlock as sl

ALLOC = page_alloc.__alloc_pages
FREE = page_alloc.__free_pages
IRQ_ENTER, IRQ_EXIT = c.__irq_enter, c.__irq_exit


@pytest.fixture
def kit(booted, debug_hooks):
    node = booted(total="32M", nr_cpus=2, max_locks=64,
                  extra_sections=checkers.arena_sections(max_locks=64))
    return node, debug_hooks(checkers.build(checkers.DEFAULT, node))


def kinds(hooks):
    return [v.kind for v in hooks.sink.violations]


def hardirq(fn):
    """Run fn as a hardirq handler does: hardirq count raised, interrupts off."""
    IRQ_ENTER()
    flags = c.local_irq_save()
    try:
        fn()
    finally:
        c.local_irq_restore(flags)
        IRQ_EXIT()


# --- sleeping in atomic --------------------------------------------------------
def test_gfp_kernel_in_hardirq_is_reported(kit):
    node, hooks = kit
    hardirq(lambda: FREE(node, ALLOC(node, g.GFP_KERNEL, 0), 0))
    assert kinds(hooks) == ["sleep-in-atomic"]
    v = hooks.sink.violations[0]
    assert v.splat.startswith("BUG: sleeping function called from invalid context at "
                              "tests/harness/test_checkers_core.py:")          # the workload's line
    assert "(mm/page_alloc.c:" in v.splat                               # the model's, below
    assert "in_atomic(): 1, irqs_disabled(): 1" in v.splat and "preempt_count: 10000" in v.splat
    assert "GFP_ATOMIC" in v.splat and v.context == "hardirq"
    assert "test_checkers_core.py" in v.site


def test_gfp_atomic_in_hardirq_and_kernel_in_process_are_fine(kit):
    node, hooks = kit
    hardirq(lambda: FREE(node, ALLOC(node, g.GFP_ATOMIC, 0), 0))
    FREE(node, ALLOC(node, g.GFP_KERNEL, 0), 0)
    assert kinds(hooks) == []


def test_gfp_kernel_under_spinlock_or_irqs_off_is_reported(kit):
    node, hooks = kit
    lock = sl.spin_lock_init(node.locks, "driver_lock")
    sl.spin_lock(lock)
    FREE(node, ALLOC(node, g.GFP_KERNEL, 0), 0)
    sl.spin_unlock(lock)
    flags = c.local_irq_save()
    FREE(node, ALLOC(node, g.GFP_NOFS, 0), 0)
    c.local_irq_restore(flags)
    texts = [v.splat for v in hooks.sink.violations]
    assert kinds(hooks) == ["sleep-in-atomic", "sleep-in-atomic"]
    assert "spinlock is held" in texts[0] and "irqs_disabled(): 1" in texts[1]


# --- lockdep -------------------------------------------------------------------------
def test_irq_taking_a_lock_held_by_process_context(kit):
    node, hooks = kit
    lock = sl.spin_lock_init(node.locks, "dev_lock")
    sl.spin_lock(lock)
    with pytest.raises(debug.SelfDeadlock):
        hardirq(lambda: sl.spin_lock(lock))
    c.preempt_enable()
    sl.spin_unlock(lock)
    # One bug, one report: the irq's AA deadlock is the lock's inconsistent irq state
    # (the report any CPU gives for it), not also recursion, nor the never-taken lock
    # "held" when the hardirq returns.
    assert kinds(hooks) == ["lock-inconsistent"]
    assert "inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage." in hooks.sink.violations[0].splat
    hooks.finish()
    assert kinds(hooks) == ["lock-inconsistent"]


def test_the_same_lock_taken_twice_in_one_context_is_recursion(kit):
    node, hooks = kit
    lock = sl.spin_lock_init(node.locks, "dev_lock")
    sl.spin_lock(lock)
    with pytest.raises(debug.SelfDeadlock):
        sl.spin_lock(lock)
    sl.spin_unlock(lock)
    assert kinds(hooks) == ["lock-recursive"]


def test_inconsistent_irq_usage_and_its_correct_twin(kit):
    node, hooks = kit
    bad = sl.spin_lock_init(node.locks, "bad_lock")
    good = sl.spin_lock_init(node.locks, "good_lock")
    for lock in (bad, good):
        hardirq(lambda: (sl.spin_lock(lock), sl.spin_unlock(lock)))
    sl.spin_lock(bad)                       # irqs on: the irq could come in here
    sl.spin_unlock(bad)
    flags = sl.spin_lock_irqsave(good)      # the kernel's way
    sl.spin_unlock_irqrestore(good, flags)
    assert kinds(hooks) == ["lock-inconsistent"]
    assert "inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W} usage." in hooks.sink.violations[0].splat
    assert "bad_lock" in hooks.sink.violations[0].splat
    v = hooks.sink.violations[0]
    assert v.details["first_site"].startswith("tests/harness/test_checkers_core.py:")   # the hardirq's
    assert v.details["first_site"] != v.site                                   # line, not this one
    assert "{IN-HARDIRQ-W} state was registered at:\n  tests/harness/test_checkers_core.py:" in v.splat


def test_abba_across_two_cpus(kit):
    node, hooks = kit
    a = sl.spin_lock_init(node.locks, "lock_A")
    b = sl.spin_lock_init(node.locks, "lock_B")
    pid = os.fork()
    if pid == 0:                             # CPU 1 takes A then B, and exits
        c.set_this_cpu(c.CPU(1))
        sl.spin_lock(a); sl.spin_lock(b); sl.spin_unlock(b); sl.spin_unlock(a)
        os._exit(0)
    os.waitpid(pid, 0)
    sl.spin_lock(b); sl.spin_lock(a); sl.spin_unlock(a); sl.spin_unlock(b)
    assert kinds(hooks) == ["lock-circular"]
    text = hooks.sink.violations[0].splat
    assert "possible circular locking dependency detected" in text and "(lock_A)" in text


def test_consistent_order_is_silent(kit):
    node, hooks = kit
    a = sl.spin_lock_init(node.locks, "lock_A")
    b = sl.spin_lock_init(node.locks, "lock_B")
    for _ in range(3):
        sl.spin_lock(a); sl.spin_lock(b); sl.spin_unlock(b); sl.spin_unlock(a)
    assert kinds(hooks) == []


def test_safe_to_unsafe_order(kit):
    node, hooks = kit
    safe = sl.spin_lock_init(node.locks, "safe_lock")
    unsafe = sl.spin_lock_init(node.locks, "unsafe_lock")
    hardirq(lambda: (sl.spin_lock(safe), sl.spin_unlock(safe)))
    sl.spin_lock(unsafe); sl.spin_unlock(unsafe)             # irqs on: HARDIRQ-unsafe
    flags = sl.spin_lock_irqsave(safe)
    sl.spin_lock(unsafe)
    sl.spin_unlock(unsafe)
    sl.spin_unlock_irqrestore(safe, flags)
    assert kinds(hooks) == ["lock-safe-unsafe"]


def test_bad_unlock_and_held_at_exit(kit):
    node, hooks = kit
    lock = sl.spin_lock_init(node.locks, "l")
    sl.spin_unlock(lock)
    c.preempt_disable()                                      # rebalance the spin_unlock
    IRQ_ENTER()
    sl.spin_lock(lock)
    debug.hooks.context_exit()
    IRQ_EXIT()
    assert kinds(hooks) == ["lock-bad-unlock", "lock-held-at-exit"]


# --- per-CPU ---------------------------------------------------------------------------
def test_percpu_rules(kit):
    node, hooks = kit
    h = debug.hooks
    h.percpu_enter("counter", 0, "none")
    hardirq(lambda: (h.percpu_enter("counter", 0, "irq"), h.percpu_exit("counter", 0)))
    h.percpu_exit("counter", 0)
    assert kinds(hooks) == ["percpu-irq-race"]
    hooks.sink.violations.clear(); hooks.sink._index.clear()
    flags = c.local_irq_save()
    h.percpu_enter("counter", 0, "irq")
    h.percpu_exit("counter", 0)
    c.local_irq_restore(flags)
    h.percpu_enter("counter", 1, "remote")
    h.percpu_exit("counter", 1)
    assert kinds(hooks) == []
    h.percpu_enter("counter", 1, "preempt")
    h.percpu_exit("counter", 1)
    lock = sl.spin_lock_init(node.locks, "x")
    h.percpu_enter("kmem_cache_cpu:test", 0, "tid")
    sl.spin_lock(lock); sl.spin_unlock(lock)
    h.percpu_exit("kmem_cache_cpu:test", 0)
    assert kinds(hooks) == ["percpu-foreign-access", "percpu-lock-in-fastpath"]


def test_pcp_lists_are_clean_under_the_checkers(kit):
    node, hooks = kit
    held = [ALLOC(node, g.GFP_KERNEL, o % 4) for o in range(200)]
    hardirq(lambda: FREE(node, ALLOC(node, g.GFP_ATOMIC, 0), 0))
    for i, pfn in enumerate(held):
        FREE(node, pfn, i % 4)
    km.pcp.drain_all_pages(node)
    assert kinds(hooks) == []


# --- memory, gfp, invariants -----------------------------------------------------------
def test_page_double_free_and_bad_page(kit):
    node, hooks = kit
    pfn = ALLOC(node, g.GFP_KERNEL, 0)
    FREE(node, pfn, 0)
    FREE(node, pfn, 0)
    pfn2 = ALLOC(node, g.GFP_KERNEL, 0)
    node.mem_map.mapping[pfn2] = 0xdead
    FREE(node, pfn2, 0)
    assert kinds(hooks) == ["double-free", "bad-page"]
    assert "BUG: Bad page state in process" in hooks.sink.violations[1].splat
    assert "non-NULL mapping" in hooks.sink.violations[1].splat


def test_gfp_misuse_reports(kit):
    node, hooks = kit
    km.free_page(km.__get_free_pages(g.GFP_HIGHUSER, 0))
    FREE(node, ALLOC(node, g.GFP_ATOMIC | g.__GFP_NOFAIL, 0), 0)
    FREE(node, ALLOC(node, g.GFP_KERNEL | g.__GFP_NOFAIL, 4), 4)
    # The kernel warns in the slow path only; the gfp checker checks every allocation's mask,
    # so the misuse is found without memory pressure (harness/checkers/gfp.py).
    assert kinds(hooks) == ["gfp-highmem-address", "gfp-nofail-atomic", "gfp-nofail-costly"]


def test_invariant_checker_names_the_structure(kit):
    node, hooks = kit
    inv = next(ch for ch in hooks.checkers if ch.name == "invariants")
    assert inv.check() == []
    node.zones[g.ZONE_DMA].fa_nr[3] += 2
    assert inv.check()
    assert kinds(hooks) == ["invariant"] * len(hooks.sink.violations)
    node.zones[g.ZONE_DMA].fa_nr[3] -= 2


def test_repeats_at_one_site_are_counted(kit):
    node, hooks = kit
    for _ in range(5):
        hardirq(lambda: FREE(node, ALLOC(node, g.GFP_KERNEL, 0), 0))
    assert len(hooks.sink.violations) == 1 and hooks.sink.violations[0].count == 5


def test_every_kind_is_explained():
    for name in KINDS:
        text = explain(name)
        assert "kernel report:" in text and "How to fix it:" in text


def test_a_hook_two_checkers_define_calls_both_in_order_and_keeps_the_last_truthy_answer():
    """The fan-out is made with the hook's own parameters: positional and keyword calls
    and the default of an optional parameter reach every checker; a checker that leaves
    an optional parameter out still works (it gets the generic caller)."""
    from harness.checkers.base import CheckerHooks, ViolationSink

    calls = []

    class A(checkers.Checker):
        name = "a"

        def might_sleep(self, where, gfp=None):
            calls.append(("a", where, gfp))
            return "from a"

        def yield_point(self, kind, obj=None):
            calls.append(("a", kind, obj))

    class B(checkers.Checker):
        name = "b"

        def might_sleep(self, where, gfp=None):
            calls.append(("b", where, gfp))
            return 0

        def yield_point(self, kind):                  # leaves out the optional obj
            calls.append(("b", kind))

    hooks = CheckerHooks([A(), B()], ViolationSink())
    assert hooks.might_sleep("here") == "from a"
    assert hooks.might_sleep("there", gfp=3) == "from a"
    hooks.yield_point("spin")
    assert calls == [("a", "here", None), ("b", "here", None), ("a", "there", 3),
                     ("b", "there", 3), ("a", "spin", None), ("b", "spin")]


def test_checkers_that_listen_off_the_fast_paths_leave_the_static_key_off(debug_hooks):
    """debug.fast_hooks with the harness's hooks: none for checkers = [] and for checkers
    with no fast-path hook (memory, kmemleak); set as soon as one listens (sleep)."""
    from harness.checkers.base import CheckerHooks, ViolationSink
    from kernel_model import debug

    with km.boot(total="32M", page_data=True) as node:
        debug_hooks(CheckerHooks([], ViolationSink()))
        assert debug.fast_hooks is None
        quiet = [checkers.REGISTRY[n](None, node) for n in ("memory", "kmemleak")]
        debug_hooks(CheckerHooks(quiet, ViolationSink()))
        assert debug.fast_hooks is None
        h = debug_hooks(CheckerHooks([checkers.REGISTRY["sleep"](None, node)], ViolationSink()))
        assert debug.fast_hooks is h
