"""Per-CPU paths: the rules that make lock-free per-CPU data safe.

The model brackets every per-CPU section with ``percpu_enter(what, cpu,
protection)`` / ``percpu_exit(what, cpu)``: ``what`` names the data
("kmem_cache_cpu:kmalloc-64", "pcp:Normal", a workload's per-CPU variable),
``cpu`` whose slot it is, ``protection`` how the section protects itself:

    irq      interrupts disabled for the section (checked: they must be)
    tid      a tid/cmpxchg transaction (SLUB's fast path): an interrupt may
             come, the transaction then retries
    lock     a per-CPU lock taken with trylock (6.12's pcp->lock)
    preempt  preemption disabled only -- interrupts can still come in
    none     nothing
    remote   a sanctioned access to another CPU's slot (drain_all_pages)

Reported: a spinlock taken inside a ``tid`` section of the same context (the
fast path must be lock-free); a slot of another CPU touched without
``remote``; an interrupt that enters a section on the same data while the
interrupted context's section is ``preempt`` or ``none``; a section that
claims ``irq`` with interrupts on.
"""

from kernel_model import context

from .base import Checker

_LEVEL = context.HARDIRQ_MASK | context.NMI_MASK | context.SOFTIRQ_OFFSET
UNSAFE_AGAINST_IRQ = ("preempt", "none")


class PercpuChecker(Checker):
    name = "percpu"

    def __init__(self, sink=None, pgdat=None):
        super().__init__(sink, pgdat)
        self.sections = []             # [(what, slot_cpu, protection, level)]

    def percpu_enter(self, what, cpu, protection):
        me = context.this_cpu
        level = me.preempt_count & _LEVEL
        if protection == "irq" and not me.irqs_off:
            self.emit("percpu-irq-race",
                      f"BUG: per-CPU section {what} on CPU {me.id} claims interrupts off but they "
                      "are on: an interrupt can interleave with its read-modify-write")
            protection = "none"
        if cpu != me.id and protection != "remote":
            self.emit("percpu-foreign-access",
                      f"BUG: CPU {me.id} ({context.CTX_NAMES[me.context()]}) accesses CPU {cpu}'s "
                      f"per-CPU data {what} outside a remote-access path")
        if level:
            for s_what, s_cpu, s_prot, s_level in self.sections:
                if s_what == what and s_cpu == cpu and s_level < level and s_prot in UNSAFE_AGAINST_IRQ:
                    self.emit("percpu-irq-race",
                              f"BUG: per-CPU data {what} of CPU {cpu} modified by an interrupt "
                              f"({context.CTX_NAMES[me.context()]}) inside an unprotected section "
                              f"(protection: {s_prot}) of the interrupted context")
                    break
        self.sections.append((what, cpu, protection, level))

    def percpu_exit(self, what, cpu):
        for i in range(len(self.sections) - 1, -1, -1):
            if self.sections[i][0] == what and self.sections[i][1] == cpu:
                del self.sections[i]
                return

    def lock_acquire(self, lock, trylock):
        if not self.sections:
            return
        level = context.this_cpu.preempt_count & _LEVEL
        for what, _cpu, prot, s_level in reversed(self.sections):
            if s_level == level and prot == "tid":
                self.emit("percpu-lock-in-fastpath",
                          f"BUG: lock {lock.name} taken inside the lock-free fast path {what} "
                          f"on CPU {context.this_cpu.id}")
                return

    def context_exit(self):
        level = context.this_cpu.preempt_count & _LEVEL
        self.sections = [s for s in self.sections if s[3] != level]
