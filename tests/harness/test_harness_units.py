"""Harness parts without processes: softirqs, lazy irq masking, watchdog, mailbox, per-CPU vars, rng."""

import random

import kernel_model as km
from kernel_model import context
from harness.runtime import counters as C
from harness import rng
from harness.runtime.irq import Irq, LazyIrqChip
from harness.runtime.mailbox import Mailboxes, arena_sections as mbox_sections
from harness.runtime.percpu import PerCpuVars, arena_sections as percpu_sections
from harness.runtime.softirq import MAX_SOFTIRQ_RESTART, NET_RX_SOFTIRQ, Softirqs
from harness.supervisor.watchdog import Watchdog


def _stat():
    return [0] * C.NR_STATS


def test_raise_in_task_wakes_ksoftirqd_and_runs_serving():
    stat = _stat()
    s = Softirqs(stat, 0)
    seen = []
    s.open_softirq(NET_RX_SOFTIRQ, lambda: seen.append(context.preempt_count()))
    s.raise_softirq(NET_RX_SOFTIRQ)
    assert s.ksoftirqd and s.pending
    s.run_ksoftirqd()
    assert seen == [context.SOFTIRQ_OFFSET] and not s.pending
    assert context.preempt_count() == 0 and not context.irqs_disabled()


def test_softirq_restart_is_bounded_then_deferred_to_ksoftirqd():
    stat = _stat()
    s = Softirqs(stat, 0)
    s.open_softirq(NET_RX_SOFTIRQ, lambda: s.raise_softirq(NET_RX_SOFTIRQ))   # re-raises forever
    s.raise_softirq(NET_RX_SOFTIRQ)
    s.ksoftirqd = False
    s.do_softirq()
    assert stat[C.STAT["softirq_runs"]] == MAX_SOFTIRQ_RESTART
    assert s.ksoftirqd and stat[C.STAT["ksoftirqd_wakeups"]] == 1


def test_tasklet_scheduled_twice_runs_once():
    s = Softirqs(_stat(), 0)
    ran = []
    fn = lambda: ran.append(1)  # noqa: E731
    s.tasklet_schedule(fn)
    s.tasklet_schedule(fn)
    s.do_softirq()
    assert ran == [1]


def test_interrupt_arriving_masked_is_delivered_at_unmask():
    stat = _stat()
    log = []
    softirqs = Softirqs(stat, 0)
    irq = Irq(0, stat, C.NR_STATS, rate=0, jitter=0, rng=random.Random(1),
              work=lambda: log.append((context.in_irq(), context.irqs_disabled())), softirqs=softirqs)
    irq.running = True
    irq._arm = lambda: None
    context.set_this_cpu(context.CPU(0, chip=LazyIrqChip(irq)))
    flags = context.local_irq_save()
    irq._on_signal(14, None)          # the signal arrives inside the irq-off section
    irq._on_signal(14, None)          # ... twice: one pending bit
    assert log == [] and irq.pending
    context.local_irq_restore(flags)
    assert log == [(True, True)] and not irq.pending
    assert stat[C.STAT["irq_deferred"]] == 1 and stat[C.STAT["irq_coalesced"]] == 1
    irq._on_signal(14, None)          # unmasked: delivered at once
    assert len(log) == 2 and context.preempt_count() == 0 and not context.irqs_disabled()


def test_watchdog_fires_once_for_a_stuck_cpu_only():
    dog = Watchdog(2, thresh=1.0)
    assert dog.observe([0, 0], 0.0, {0, 1}) == []
    assert dog.observe([5, 0], 0.6, {0, 1}) == []
    assert dog.observe([9, 0], 1.2, {0, 1}) == [1]
    assert dog.observe([12, 0], 5.0, {0, 1}) == []


def test_mailbox_fifo_full_and_empty():
    sections = mbox_sections(2, 4)
    with km.boot(total="16M", nr_cpus=2, extra_sections=sections) as node:
        mb = Mailboxes(node, 2, slots=4)
        assert mb.recv(1) is None
        assert all(mb.send(1, 0x1000 + i, i) for i in range(4))
        assert mb.send(1, 0x2000) is False
        assert [mb.recv(1) for _ in range(5)] == [(0x1000 + i, i) for i in range(4)] + [None]


def test_percpu_vars_reach_the_hooks_with_the_slot_cpu(booted):
    seen = []

    class Hooks(km.debug.DebugHooks):
        def percpu_enter(self, what, cpu, protection):
            seen.append((what, cpu, protection, context.irqs_disabled()))

    node = booted(Hooks(), total="16M", nr_cpus=2, extra_sections=percpu_sections(2))
    pv = PerCpuVars(node, 2)
    pv.access("hits", 0, "irq", 2, 1)
    pv.access("hits", 0, "irq", 2, 1)
    pv.access("hits", 1, "remote", 1, 7)
    assert pv.sums() == {"hits": [2, 7]}
    assert seen[-1] == ("percpu:hits", 1, "remote", True)


def test_rng_streams_are_stable_and_distinct():
    assert rng.derive(7, 0, "process") == rng.derive(7, 0, "process")
    assert len({rng.derive(7, c, x) for c in range(2) for x in C.CONTEXTS}) == 8
    assert rng.stream(7, 1, "hardirq").random() == rng.stream(7, 1, "hardirq").random()
