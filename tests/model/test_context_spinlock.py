"""preempt_count layout and predicates; emulated spinlocks."""

import os

import pytest

from kernel_model import context as c
from kernel_model import debug, spinlock as sl


def test_preempt_count_layout_and_predicates():
    assert (c.PREEMPT_MASK, c.SOFTIRQ_MASK, c.HARDIRQ_MASK, c.NMI_MASK) == (0xFF, 0xFF00, 0xF0000, 0xF00000)
    assert c.in_task() and not c.in_atomic() and not c.in_interrupt()
    c.preempt_disable()
    assert c.in_atomic() and c.in_task() and not c.in_interrupt()
    c.preempt_enable()
    c.local_bh_disable()
    assert c.preempt_count() == 0x200 and c.in_softirq() and not c.in_serving_softirq() and c.in_task()
    c.local_bh_enable()
    c.__local_bh_enter_serving()
    assert c.in_serving_softirq() and c.in_interrupt() and not c.in_task()
    c.__local_bh_exit_serving()
    c.__irq_enter()
    assert c.in_irq() and c.in_interrupt() and c.preempt_count() == 0x10000
    assert c.this_cpu.context() == c.CTX_HARDIRQ
    c.__irq_exit()
    c.nmi_enter()
    assert c.in_nmi() and c.this_cpu.context() == c.CTX_NMI
    c.nmi_exit()
    assert c.preempt_count() == 0


def test_irq_save_restore_nests_and_calls_a_masking_chip():
    calls = []

    class Chip(c.IrqChip):
        masks = True

        def disable(self):
            calls.append("off")

        def enable(self):
            calls.append("on")

    c.set_this_cpu(c.CPU(0, chip=Chip()))
    f1 = c.local_irq_save()
    f2 = c.local_irq_save()
    assert c.irqs_disabled()
    c.local_irq_restore(f2)
    assert c.irqs_disabled()
    c.local_irq_restore(f1)
    assert not c.irqs_disabled()
    assert calls == ["off", "on"]


def test_soft_masking_calls_the_chip_only_to_replay_an_interrupt():
    """powerpc's lazy masking: save/restore are flag writes; enable() runs at the
    outermost restore only when an interrupt arrived meanwhile (irq_happened)."""
    calls = []

    class Chip(c.IrqChip):
        def disable(self):
            calls.append("off")

        def enable(self):
            calls.append("on")
            c.this_cpu.irq_happened = False

    c.set_this_cpu(c.CPU(0, chip=Chip()))
    c.local_irq_restore(c.local_irq_save())
    c.local_irq_disable()
    c.local_irq_enable()
    assert calls == [] and not c.irqs_disabled()
    f1 = c.local_irq_save()
    f2 = c.local_irq_save()
    c.this_cpu.irq_happened = True          # an interrupt arrived, masked
    c.local_irq_restore(f2)
    assert calls == [] and c.irqs_disabled()  # still masked: not yet
    c.local_irq_restore(f1)
    assert calls == ["on"] and not c.irqs_disabled() and not c.this_cpu.irq_happened


def test_spinlock_counts_and_owner(node):
    lock = sl.spin_lock_init(node.locks, "test_lock")
    flags = sl.spin_lock_irqsave(lock)
    assert c.irqs_disabled() and c.in_atomic()
    assert lock.owner_word() == (0 + 1) << 8 | c.CTX_TASK
    assert not sl.spin_trylock(lock)
    sl.spin_unlock_irqrestore(lock, flags)
    assert not c.irqs_disabled() and not c.in_atomic() and not sl.spin_is_locked(lock)
    sl.spin_lock_bh(lock)
    assert c.in_softirq()
    sl.spin_unlock_bh(lock)
    assert sl.lock_stats(lock)["acquired"] == 2
    assert node.locks.name_of(lock.id) == "test_lock"


def test_self_deadlock_is_reported_not_a_hang(node):
    lock = sl.spin_lock_init(node.locks, "aa_lock")
    sl.spin_lock(lock)
    c.__irq_enter()                     # a hardirq on the same CPU wants it
    with pytest.raises(debug.SelfDeadlock, match="spinlock recursion on CPU#0"):
        sl.spin_lock(lock)
    c.__irq_exit()
    c.preempt_enable()                  # the failed spin_lock's preempt_disable
    sl.spin_unlock(lock)


def test_contention_between_processes(node):
    lock = sl.spin_lock_init(node.locks, "shared")
    counter = node.arena.v["node_meta"]          # slot 7 is unused: a shared int
    pids = []
    for cpu in range(2):
        pid = os.fork()
        if pid == 0:
            try:
                c.set_this_cpu(c.CPU(cpu))
                for _ in range(3000):
                    sl.spin_lock(lock)
                    counter[7] = counter[7] + 1       # racy without the lock
                    sl.spin_unlock(lock)
            finally:
                os._exit(0)
        pids.append(pid)
    for pid in pids:
        assert os.waitpid(pid, 0)[1] == 0
    assert counter[7] == 6000
    stats = sl.lock_stats(lock)
    assert stats["acquired"] == 6000
