"""Softirqs and tasklets of one CPU (kernel/softirq.c, 6.12), in that CPU's process.

Vectors keep the kernel's numbers; the scenario's softirq work is registered
on ``NET_RX_SOFTIRQ`` ("the scenario's softirq": ``k.raise_softirq()`` with no
argument raises it), tasklets run from ``TASKLET_SOFTIRQ``.

- ``raise_softirq(nr)``: set the pending bit with interrupts off; outside
  interrupt context wake ksoftirqd (here: the CPU's main loop runs
  ``run_ksoftirqd()`` before its next iteration).
- ``invoke_softirq()`` (from irq_exit) and ``do_softirq()`` (from
  local_bh_enable) run ``__do_softirq``: serving count raised
  (SOFTIRQ_OFFSET), interrupts *enabled* while the handlers run, restarted
  while new softirqs were raised, at most MAX_SOFTIRQ_RESTART times; what is
  still pending then is left to ksoftirqd so that softirqs cannot starve
  process context (the kernel also bounds by 2 ms; a clock would make a run
  depend on timing, so only the restart count is used).
- ``tasklet_schedule(fn)``: queue ``fn`` unless it is already queued
  (TASKLET_STATE_SCHED) and raise TASKLET_SOFTIRQ.

State here is process-local (softirqs never cross CPUs) and is only changed
with interrupts disabled, so a hardirq cannot tear it.
"""

from kernel_model import context

from harness.runtime.counters import STAT

(HI_SOFTIRQ, TIMER_SOFTIRQ, NET_TX_SOFTIRQ, NET_RX_SOFTIRQ, BLOCK_SOFTIRQ, IRQ_POLL_SOFTIRQ,
 TASKLET_SOFTIRQ, SCHED_SOFTIRQ, HRTIMER_SOFTIRQ, RCU_SOFTIRQ) = range(10)
NR_SOFTIRQS = 10
SCENARIO_SOFTIRQ = NET_RX_SOFTIRQ
MAX_SOFTIRQ_RESTART = 10
# Module-level aliases: inside a class body Python would mangle ``__local_bh_*``.
_bh_enter_serving = context.__local_bh_enter_serving
_bh_exit_serving = context.__local_bh_exit_serving


class Softirqs:
    """Pending mask, vector table, tasklet list and the ksoftirqd flag of one CPU."""

    def __init__(self, stat, base):
        self.stat = stat
        self.base = base
        self.pending = 0
        self.vec = [None] * NR_SOFTIRQS
        self.tasklets = []            # scheduled tasklet functions, in order
        self.ksoftirqd = False        # woken: run from process context
        self.enabled = True
        self.open_softirq(TASKLET_SOFTIRQ, self._tasklet_action)

    def open_softirq(self, nr, action):
        self.vec[nr] = action

    # -- raising -----------------------------------------------------------------
    def raise_softirq_irqoff(self, nr):
        if not self.enabled:
            return
        self.pending |= 1 << nr
        self.stat[self.base + STAT["softirq_raised"]] += 1
        if not context.in_interrupt():
            self.ksoftirqd = True

    def raise_softirq(self, nr=SCENARIO_SOFTIRQ):
        flags = context.local_irq_save()
        try:
            self.raise_softirq_irqoff(nr)
        finally:
            context.local_irq_restore(flags)

    def tasklet_schedule(self, fn):
        flags = context.local_irq_save()
        try:
            if self.enabled and fn not in self.tasklets:
                self.tasklets.append(fn)
                self.raise_softirq_irqoff(TASKLET_SOFTIRQ)
        finally:
            context.local_irq_restore(flags)

    # -- running -------------------------------------------------------------------
    def invoke_softirq(self):
        """irq_exit(): interrupts are off, not nested in another interrupt."""
        if self.pending:
            self._do_softirq_loop()

    def do_softirq(self):
        """do_softirq(): from local_bh_enable() or ksoftirqd, in task context."""
        if context.in_interrupt() or not self.pending:
            return
        flags = context.local_irq_save()
        try:
            if self.pending:
                self._do_softirq_loop()
        finally:
            context.local_irq_restore(flags)

    def run_ksoftirqd(self):
        """The ksoftirqd thread's turn (process context, between iterations)."""
        self.ksoftirqd = False
        self.do_softirq()

    def _do_softirq_loop(self):
        """__do_softirq(). Interrupts are off on entry and on return; enabled around the handlers."""
        stat, base = self.stat, self.base
        _bh_enter_serving()
        try:
            restart = MAX_SOFTIRQ_RESTART
            while True:
                pending, self.pending = self.pending, 0
                context.local_irq_enable()
                try:
                    nr = 0
                    while pending:
                        if pending & 1 and self.vec[nr] is not None:
                            if nr != TASKLET_SOFTIRQ:
                                stat[base + STAT["softirq_runs"]] += 1
                            self.vec[nr]()
                        pending >>= 1
                        nr += 1
                finally:
                    context.local_irq_disable()
                if not self.pending:
                    break
                restart -= 1
                if not restart:
                    stat[base + STAT["ksoftirqd_wakeups"]] += 1
                    self.ksoftirqd = True          # wakeup_softirqd()
                    break
                stat[base + STAT["softirq_restarts"]] += 1
        finally:
            _bh_exit_serving()

    def _tasklet_action(self):
        flags = context.local_irq_save()
        todo, self.tasklets = self.tasklets, []
        context.local_irq_restore(flags)
        for fn in todo:
            self.stat[self.base + STAT["tasklet_runs"]] += 1
            fn()

    def shutdown(self):
        """End of run: run what is pending, then accept nothing more."""
        for _ in range(MAX_SOFTIRQ_RESTART):
            if not self.pending:
                break
            self.do_softirq()
        self.enabled = False
        self.pending = 0
        self.tasklets = []
