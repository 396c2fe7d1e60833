"""The deadlock checker finds a wait-for cycle from the arena's owner and wait words.

In process: the spin loop's hook is driven by hand, the other CPU's part of
the picture written into the arena as that CPU would write it.  The checker
reports a cycle once it has read it ``CONFIRM`` times, from the lowest CPU of
the cycle only, and stays silent when the holder is running, when the lock
is free, and in the moment between an acquire and its owner word.
"""

import sys

import pytest

import kernel_model as km
from harness import checkers
from harness.checkers import deadlock as dl
from kernel_model import context, spinlock


@pytest.fixture
def kit():
    with km.boot(total="32M", nr_cpus=2,
                 extra_sections=checkers.arena_sections(("deadlock",))) as node:
        a = spinlock.spin_lock_init(node.locks, "lock_A")
        b = spinlock.spin_lock_init(node.locks, "lock_B")
        yield node, a, b


def _owner(node, lock, cpu, ctx=context.CTX_TASK):
    node.locks.owner[lock.id] = (cpu + 1) << 8 | ctx


def _spin(checker, lock, n):
    for _ in range(n):
        checker.yield_point("spin", lock)


def test_an_abba_cycle_is_reported_once_by_the_lowest_cpu(kit):
    node, a, b = kit
    cpu1 = dl.DeadlockChecker(None, node)
    context.set_this_cpu(context.CPU(1))
    _owner(node, b, 1)
    cpu1.held.append((b, (None, 0), context.CTX_TASK))
    _spin(cpu1, a, dl.DESCRIBE_AT)                # CPU 1 waits for A (its part is written)
    context.set_this_cpu(context.CPU(0))
    cpu0 = dl.DeadlockChecker(None, node)
    _owner(node, a, 0)
    assert cpu0.cycle(0) is None                  # CPU 0 is not waiting yet
    with pytest.raises(dl.DeadlockStop):
        _spin(cpu0, b, dl.CHECK_AT + dl.CHECK_EVERY * dl.CONFIRM)
    assert cpu0.cycle(0) == [(0, b.id, 1), (1, a.id, 0)]
    [v] = cpu0.sink.violations
    assert v.kind == "deadlock" and "*** DEADLOCK ***" in v.text
    assert v.title == "BUG: deadlock: CPU0 and CPU1 spin on each other's locks"
    assert "CPU1 (" in v.text and "spins on (lock_A)" in v.text and "holds (lock_B)" in v.text
    assert node.arena.v["deadlock_found"][0] == 1
    context.set_this_cpu(context.CPU(1))
    with pytest.raises(dl.DeadlockStop):          # everyone spinning unwinds
        cpu1.yield_point("spin", a)
    assert cpu1.sink.violations == []


def test_the_higher_cpu_of_a_cycle_leaves_the_report_to_the_lower(kit):
    node, a, b = kit
    context.set_this_cpu(context.CPU(0))
    cpu0 = dl.DeadlockChecker(None, node)
    _owner(node, a, 0)
    _spin(cpu0, b, 1)
    context.set_this_cpu(context.CPU(1))
    cpu1 = dl.DeadlockChecker(None, node)
    _owner(node, b, 1)
    _spin(cpu1, a, dl.CHECK_AT + dl.CHECK_EVERY * 10)
    assert cpu1.sink.violations == [] and node.arena.v["deadlock_found"][0] == 0


def test_no_cycle_when_the_holder_runs_or_the_lock_is_free_or_just_taken(kit):
    node, a, b = kit
    context.set_this_cpu(context.CPU(0))
    cpu0 = dl.DeadlockChecker(None, node)
    _owner(node, a, 1)                                       # CPU 1 holds A and runs
    _spin(cpu0, a, dl.CHECK_AT + dl.CHECK_EVERY * 10)
    node.locks.owner[a.id] = 0                               # free (or mid-acquire elsewhere)
    _spin(cpu0, a, dl.CHECK_AT)
    _owner(node, a, 0)                                       # taken by us, "locked" not yet seen
    assert cpu0.cycle(0) is None
    cpu0.yield_point("locked", a)
    assert node.arena.v["deadlock_wait"][0] == 0 and cpu0.spinning == []
    assert cpu0.sink.violations == []


def test_an_interrupt_spinning_on_the_lock_its_cpu_was_taking(kit):
    """The owner word is written after the acquire: an interrupt in between that spins
    on the same lock sees 0 there, and only the record of the acquire tells."""
    node, a, _b = kit
    cpu = context.CPU(0)
    context.set_this_cpu(cpu)
    d = dl.DeadlockChecker(None, node)
    d.lock_acquire(a, False)                                 # process context takes A ...
    cpu.preempt_count += context.HARDIRQ_OFFSET              # ... and a hardirq arrives
    d.lock_acquire(a, False)
    with pytest.raises(dl.DeadlockStop):
        _spin(d, a, dl.CHECK_AT + dl.CHECK_EVERY * dl.CONFIRM)
    [v] = d.sink.violations
    assert "<Interrupt>" in v.text and "interrupted context of the same CPU" in v.title
    assert "in the interrupted process context" in v.text


def test_scheduler_cycles_render_as_the_same_record(kit):
    node, a, b = kit
    context.set_this_cpu(context.CPU(0))
    d = dl.DeadlockChecker(None, node)
    v = d.report_cycle([(0, b.id, 1), (1, a.id, 0)], note="(found by the scheduler)")
    assert v.kind == "deadlock" and "*** DEADLOCK ***" in v.text
    assert "lock(lock_A);" in v.text and "lock(lock_B);" in v.text


def test_the_checker_defines_no_hook_it_does_not_mean():
    """CheckerHooks fans every DebugHooks name out to the checkers that define it."""
    from harness.checkers.base import HOOK_NAMES
    meant = {"lock_acquire", "lock_acquired", "lock_release", "yield_point"}
    assert set(vars(dl.DeadlockChecker)) & set(HOOK_NAMES) == meant
    assert not set(vars(checkers.kmemleak.KmemleakChecker)) & set(HOOK_NAMES)


def test_cycles_of_three_and_waiters_behind_a_cycle():
    with km.boot(total="32M", nr_cpus=3,
                 extra_sections=checkers.arena_sections(("deadlock",))) as node:
        a, b, c = (spinlock.spin_lock_init(node.locks, f"lock_{x}") for x in "ABC")
        wait = node.arena.v["deadlock_wait"]
        d = dl.DeadlockChecker(None, node)
        for cpu, (waits, holds) in enumerate(((a, c), (b, a), (c, b))):
            wait[cpu] = waits.id + 1
            _owner(node, holds, cpu)
        assert d.cycle(0) == [(0, a.id, 1), (1, b.id, 2), (2, c.id, 0)]
        _owner(node, a, 1)                      # CPUs 1 and 2 deadlock on A and B ...
        _owner(node, b, 2)
        _owner(node, c, 1)
        wait[0], wait[1], wait[2] = c.id + 1, b.id + 1, a.id + 1   # ... CPU 0 waits behind them
        assert d.cycle(0) is None
        assert d.cycle(1) == [(1, b.id, 2), (2, a.id, 1)]


def test_a_part_written_for_a_spin_that_ended_is_not_shown(kit):
    node, a, _b = kit
    context.set_this_cpu(context.CPU(1))
    d = dl.DeadlockChecker(None, node)
    _owner(node, a, 0)
    _spin(d, a, dl.DESCRIBE_AT)
    assert "spins on (lock_A)" in d._part(1)
    _owner(node, a, 1)
    d.yield_point("locked", a)
    assert d._part(1) == "" and node.arena.v["deadlock_wait"][1] == 0


def test_a_lock_the_model_takes_is_placed_at_the_workload_call_when_a_report_asks():
    """A pcp trylock taken inside alloc_pages keeps the model's frame, no line (no walk
    at every acquisition); asked while it is held, its site is the workload line that
    called alloc_pages -- what the walk at acquisition used to record."""
    from harness.checkers import Checker, CheckerHooks, ViolationSink
    from kernel_model import debug
    with km.boot(total="32M", extra_sections=checkers.arena_sections(("deadlock",))) as node:
        dead = dl.DeadlockChecker(None, node)
        seen = []

        class Peek(Checker):
            name = "peek"

            def percpu_enter(self, what, cpu, protection):   # inside the pcp lock
                seen.extend((lock.name, where[1], dl._where(*where)) for lock, where, _ in dead.held)

        old = debug.install(CheckerHooks([dead, Peek()], ViolationSink()))
        try:
            line = sys._getframe().f_lineno + 1
            page = km.alloc_pages(km.GFP_KERNEL, 0)
        finally:
            debug.install(old)
        km.__free_pages(page, 0)
    assert seen and all(lazy is None for _name, lazy, _site in seen)
    assert {site for _n, _l, site in seen} == {f"{__file__}:{line} ({sys._getframe().f_code.co_name})"}
