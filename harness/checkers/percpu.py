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
    remote   a sanctioned access to another CPU's slot (drain_all_pages,
             a workload's k.per_cpu() read)
    foreign  a write to another CPU's slot with nothing to make it safe
             (k.per_cpu_write(name, other_cpu, ...)): always reported

Reported: a spinlock taken inside a ``tid`` section of the same context (the
fast path must be lock-free); a slot of another CPU touched without
``remote``; an interrupt that enters a section on the same data while the
interrupted context's section is ``preempt`` or ``none``; a section that
claims ``irq`` with interrupts on.

Counters: ``percpu_update(what, cpu, delta, value)`` reports every deliberate
change of a workload's per-CPU counter (this_cpu_add/inc/write, put_cpu_var)
with the value the slot holds afterwards.  Every update of a CPU's own slots
runs in that CPU's process (process context and its interrupts), so at the
end (``finish``) the last value seen must equal the sum of the deltas; a
difference is an update lost to a race (a read-modify-write that an interrupt
interleaved): ``percpu-counter-mismatch``.  Slots another CPU wrote are not
reconciled (that write is already a foreign access).
"""

import re
from kernel_model import context

from .base import Checker
from .record import capture

_LEVEL = context.HARDIRQ_MASK | context.NMI_MASK | context.SOFTIRQ_OFFSET
UNSAFE_AGAINST_IRQ = ("preempt", "none")
# The harness's own registries, taken on a workload's first use of a lock or per-CPU
# variable name; the kernel defines those statically (DEFINE_SPINLOCK, DEFINE_PER_CPU).
HARNESS_LOCKS = ("lock_registry", "percpu_alloc")


def _data_key(what):
    """The dedup key of a per-CPU race: the per-CPU data, not the op that happened to be
    interrupted (one unprotected datum is one bug, whichever access the interrupt hit);
    a kmalloc cache's size is left out, as the cache an op mix picks varies by seed."""
    return "per-CPU data " + re.sub(r"kmalloc-(rcl-|cg-|dma-)?\d+", "kmalloc-N", what)


class PercpuChecker(Checker):
    name = "percpu"

    def __init__(self, sink=None, pgdat=None):
        super().__init__(sink, pgdat)
        self.sections = []             # [(what, slot_cpu, protection, level)]
        self.counters = {}             # what -> [sum of deltas, last value] (own slots)
        self.foreign_written = set()   # what: slots of other CPUs this CPU wrote

    def percpu_enter(self, what, cpu, protection):
        me = context.this_cpu
        level = me.preempt_count & _LEVEL
        if protection == "irq" and not me.irqs_off:
            self.violation("percpu-irq-race", details={"what": what, "slot_cpu": cpu,
                                                       "claimed_irq_off": True},
                           key_site=_data_key(what))
            protection = "none"
        if cpu != me.id and protection != "remote":
            self.violation("percpu-foreign-access", details={"what": what, "slot_cpu": cpu})
        if level:
            for s_what, s_cpu, s_prot, s_level in self.sections:
                if s_what == what and s_cpu == cpu and s_level < level and s_prot in UNSAFE_AGAINST_IRQ:
                    self.violation("percpu-irq-race", details={"what": what, "slot_cpu": cpu,
                                                               "protection": s_prot},
                                   key_site=_data_key(what))
                    break
        self.sections.append((what, cpu, protection, level))

    def percpu_exit(self, what, cpu):
        sections = self.sections
        if sections:                       # the innermost section, nearly always
            last = sections[-1]
            if last[0] == what and last[1] == cpu:
                sections.pop()
                return
        for i in range(len(sections) - 2, -1, -1):
            if sections[i][0] == what and sections[i][1] == cpu:
                del sections[i]
                return

    def percpu_update(self, what, cpu, delta, value):
        if cpu != context.this_cpu.id:
            self.foreign_written.add(what)
            return
        c = self.counters.get(what)
        if c is None:
            self.counters[what] = [delta, value, capture()[0]]   # the first update's site
        else:
            c[0] += delta
            c[1] = value

    def finish(self):
        me = context.this_cpu.id
        for what, (total, value, site) in self.counters.items():
            if total != value:
                self.violation("percpu-counter-mismatch", site=site, frames=[site],
                               key_site=f"counter {what}",
                               details={"what": what, "slot_cpu": me, "value": value,
                                        "total": total})

    def lock_acquire(self, lock, trylock):
        if not self.sections or lock.cls is None or lock.name in HARNESS_LOCKS:
            return                 # lockdep maps (fs_reclaim) are no locks; see HARNESS_LOCKS
        level = context.this_cpu.preempt_count & _LEVEL
        for what, _cpu, prot, s_level in reversed(self.sections):
            if s_level == level and prot == "tid":
                self.violation("percpu-lock-in-fastpath", function="spin_lock",
                               details={"what": what, "lock": lock.name})
                return

    def context_exit(self):
        if self.sections:                  # usually empty: every section was exited
            level = context.this_cpu.preempt_count & _LEVEL
            self.sections = [s for s in self.sections if s[3] != level]
