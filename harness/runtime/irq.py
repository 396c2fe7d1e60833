"""Hardware interrupts of one CPU: a real POSIX signal, masked the way powerpc masks.

The interrupt source is ``SIGALRM`` from a per-process one-shot interval timer
(``setitimer(ITIMER_REAL)``), re-armed when each hardirq handler returns, a
seeded-jitter period later.  Arming at the handler's end, not at the arrival,
keeps at least one period between two hardirqs for softirqs and the
interrupted code: a wall-clock timer armed at arrival livelocks a CPU whose
handler outlasts the period -- which a busy host makes happen (irq-storm at
5 kHz, seed 1166 of the 200-seed lane, was a false soft lockup).  So the
rate is one per (period + handler time).  The signal is asynchronous:
CPython runs the handler between two bytecodes of whatever the CPU was
executing -- in the middle of ``__alloc_pages`` just as well as in workload
code.

Masking.  ``local_irq_save()`` and friends call ``IrqChip.disable()/enable()``.
Blocking the signal for real (``pthread_sigmask``) costs ~3.3 us per
block+unblock pair measured here, far too slow for every irq-save on the
allocator fast paths, so the default chip masks *lazily*, as powerpc's
``arch_local_irq_save`` does (soft-masking, arch/powerpc/include/asm/hw_irq.h):

- ``disable()`` is not even called: the soft-disabled flag (``cpu.irqs_off``,
  set by the model's context.py) is the mask;
- a signal that arrives while soft-disabled does not run the interrupt: the
  handler records it as pending (one pending bit, like a level-triggered line,
  kept in ``cpu.irq_happened`` as powerpc keeps it in its PACA, so that
  local_irq_restore calls ``enable()`` only when there is something to replay;
  the timer is re-armed only when the handler has run, so no second one comes
  meanwhile) and returns at once -- the interrupted code runs on as if the
  interrupt had been blocked;
- ``enable()`` replays the pending interrupt, exactly where the real kernel
  would take it: at the unmask.

Seen from the model this is the semantics of blocking the signal and having
it delivered on unmask, at ~50 ns per irq-save/restore.  ``--irq-mask=sigmask``
(``mask = "sigmask"`` in a scenario) selects ``SigmaskIrqChip``, which also
really blocks SIGALRM with ``pthread_sigmask`` -- for comparison and
benchmarking; the soft flag still covers the few bytecodes between setting
``irqs_off`` and the system call.

A hardirq (``handle_irq``) runs with interrupts disabled, the hardirq count
raised, then ``irq_exit()``: drop the count and, if not nested in another
interrupt, run pending softirqs (``softirq.py``; they re-enable interrupts, so
a hardirq may nest into a softirq, as on Linux).  Any exception of the
scenario's hardirq work is caught here and reported as a failure of that CPU
and context; it never propagates into the interrupted code.
"""

import signal

from kernel_model import context, debug

from harness.runtime.counters import STAT

IRQ_SIGNAL = signal.SIGALRM
# Module-level aliases: inside a class body Python would mangle ``__irq_enter``.
_irq_enter, _irq_exit = context.__irq_enter, context.__irq_exit
_MODEL_DIR = "/kernel_model/"


class LazyIrqChip(context.IrqChip):
    """Soft interrupt masking: pending interrupts are replayed on enable()."""

    name = "lazy"

    def __init__(self, irq):
        self.irq = irq

    def disable(self):
        pass

    def enable(self):
        if self.irq.pending:
            self.irq.replay()

    def run_softirqs(self):
        self.irq.softirqs.do_softirq()


class SigmaskIrqChip(LazyIrqChip):
    """Real masking: SIGALRM is blocked with pthread_sigmask while irqs are off."""

    name = "sigmask"
    masks = True                   # disable()/enable() at every transition (context.IrqChip)
    _SET = {IRQ_SIGNAL}

    def disable(self):
        signal.pthread_sigmask(signal.SIG_BLOCK, self._SET)

    def enable(self):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, self._SET)
        if self.irq.pending:
            self.irq.replay()


CHIPS = {"lazy": LazyIrqChip, "sigmask": SigmaskIrqChip}


class Irq:
    """The interrupt controller of one CPU (lives in that CPU's process).

    ``work()`` is the scenario's hardirq work (already wrapped so that it
    catches and reports its own exceptions); ``softirqs`` the CPU's softirq
    state.
    """

    def __init__(self, cpu_id, stat, nr_stats, rate, jitter, rng, work, softirqs):
        self.cpu_id = cpu_id
        self.stat = stat
        self.base = cpu_id * nr_stats
        self.period = 1.0 / rate if rate > 0 else 0.0
        self.jitter = jitter
        self.rng = rng
        self.work = work
        self.softirqs = softirqs
        self.running = False
        self.hold = False          # recording: arrivals wait for the next yield point
        self.timer_on = False      # the real timer runs (not a serialised run)

    @property
    def pending(self):
        """An interrupt arrived while masked and waits for the unmask: the running
        CPU's ``irq_happened`` (context.CPU), which local_irq_restore reads."""
        return context.this_cpu.irq_happened

    @pending.setter
    def pending(self, value):
        context.this_cpu.irq_happened = value

    # -- the timer -----------------------------------------------------------------
    def start(self, timer=True):
        """Take interrupts; ``timer=False``: only ``inject()`` raises them (serialised runs)."""
        if not timer:
            self.running = True
            return
        if self.period <= 0:
            return
        self.running = True
        self.timer_on = True
        signal.signal(IRQ_SIGNAL, self._on_signal)
        self._arm()

    def stop(self):
        """Stop the timer; a pending interrupt is dropped (the device went quiet)."""
        self.running = False
        self.timer_on = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(IRQ_SIGNAL, signal.SIG_IGN)
        self.pending = False

    def _arm(self):
        u = self.rng.random()
        delay = self.period * (1.0 + self.jitter * (2.0 * u - 1.0))
        signal.setitimer(signal.ITIMER_REAL, max(delay, 1e-5))

    # -- arrival ---------------------------------------------------------------------
    def _on_signal(self, signum, frame):
        if not self.running:
            return
        stat, base = self.stat, self.base
        stat[base + STAT["irq_raised"]] += 1
        cpu = context.this_cpu
        if cpu.context() == context.CTX_TASK and frame is not None \
                and _MODEL_DIR in frame.f_code.co_filename:
            stat[base + STAT["irq_in_model"]] += 1
        self._on_arrival()

    def inject(self):
        """An interrupt arrives now because a scheduler said so (no timer, no signal)."""
        if not self.running:
            return
        self.stat[self.base + STAT["irq_raised"]] += 1
        self._on_arrival()

    def _on_arrival(self):
        stat, base = self.stat, self.base
        if context.this_cpu.irqs_off or self.hold:
            if self.pending:
                stat[base + STAT["irq_coalesced"]] += 1
            else:
                self.pending = True
                stat[base + STAT["irq_deferred"]] += 1
            return
        self.handle_irq()
        if self.pending:
            self.replay()

    def deliver_held(self):
        """A recording scheduler's yield point: take the interrupt that arrived since the
        last one -- one, with ``hold`` still set, so an interrupt arriving meanwhile waits
        for the next yield point too.  Interrupts thus land only at yield points, where
        a replay puts them back."""
        if self.pending and self.running and not context.this_cpu.irqs_off:
            self.pending = False
            self.handle_irq()

    def replay(self):
        """Deliver the pending interrupt (called at unmask, interrupts now on)."""
        while self.pending and self.running and not context.this_cpu.irqs_off and not self.hold:
            self.pending = False
            self.handle_irq()

    # -- delivery ------------------------------------------------------------------------
    def handle_irq(self):
        """The hardware took the interrupt: irq_enter, handler, irq_exit."""
        cpu = context.this_cpu
        saved_pc = cpu.preempt_count
        stat, base = self.stat, self.base
        if saved_pc & context.SOFTIRQ_OFFSET:
            stat[base + STAT["irq_in_softirq"]] += 1
        cpu.irqs_off = True                      # the CPU masks on entry
        _irq_enter()
        debug.hooks.yield_point("irq")           # a scheduler's trace: the interrupt is a step
        try:
            stat[base + STAT["irq_delivered"]] += 1
            self.work()
        finally:
            _irq_exit()
            if cpu.preempt_count != saved_pc:    # the work left a count behind (reported there)
                cpu.preempt_count = saved_pc
            if self.timer_on:
                self._arm()                      # the next one a period after this handler
        # irq_exit(): softirqs run only if we did not interrupt one (or bh-off code).
        if not cpu.preempt_count & (context.HARDIRQ_MASK | context.SOFTIRQ_MASK | context.NMI_MASK):
            self.softirqs.invoke_softirq()
        cpu.irqs_off = False                     # iret restores the interrupted flags (on)
