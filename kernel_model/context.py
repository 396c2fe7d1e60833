"""Execution context: preempt_count, interrupt state and "this CPU".

include/linux/preempt.h layout of preempt_count::

    bits  0- 7  PREEMPT   preempt_disable() depth            PREEMPT_MASK  0x000000ff
    bits  8-15  SOFTIRQ   0x100 serving a softirq,           SOFTIRQ_MASK  0x0000ff00
                          0x200 per local_bh_disable()
    bits 16-19  HARDIRQ   hardirq nesting                    HARDIRQ_MASK  0x000f0000
    bits 20-23  NMI       NMI nesting                        NMI_MASK      0x00f00000

A CPU is one process, so "this CPU" is a process-wide object (``this_cpu``)
and preempt_count is a plain attribute of it: a hardirq is a signal handler
in the same process and sees the count the interrupted code left, exactly as
on a real CPU.  The mechanism that masks interrupts belongs to the harness; the
model drives it through ``IrqChip`` (the default one only keeps the flag, which
is right for single-process use and tests).

Interrupt masking is soft by default, as powerpc's arch_local_irq_save
(arch/powerpc/include/asm/hw_irq.h): local_irq_save() only sets
``cpu.irqs_off``; an interrupt that arrives meanwhile is noted in
``cpu.irq_happened`` (the PACA field of that name) by the chip and replayed
by ``chip.enable()`` when local_irq_restore() unmasks.  So a save/restore
pair calls into the chip only when an interrupt did arrive, or when the chip
masks for real (``IrqChip.masks``: then disable()/enable() run at every
transition, as before).  The allocator fast paths mask interrupts around
every emulated cmpxchg: this keeps that cost to two flag writes.
"""

PREEMPT_OFFSET = 1 << 0
SOFTIRQ_OFFSET = 1 << 8
HARDIRQ_OFFSET = 1 << 16
NMI_OFFSET = 1 << 20
PREEMPT_MASK = 0x000000FF
SOFTIRQ_MASK = 0x0000FF00
HARDIRQ_MASK = 0x000F0000
NMI_MASK = 0x00F00000
SOFTIRQ_DISABLE_OFFSET = 2 * SOFTIRQ_OFFSET
PREEMPT_DISABLE_OFFSET = PREEMPT_OFFSET

# Context codes used in owner words and traces.
CTX_TASK, CTX_SOFTIRQ, CTX_HARDIRQ, CTX_NMI = range(4)
CTX_NAMES = ("process", "softirq", "hardirq", "nmi")


class IrqChip:
    """How interrupts are really masked on this CPU; the harness replaces it.

    ``masks``: False (soft masking) -- disable() is never called and enable() only
    when ``cpu.irq_happened`` says an interrupt is waiting; True -- the chip
    masks the source itself, and both run at every irqs-off/on transition."""

    masks = False

    def disable(self):
        pass

    def enable(self):
        """Called when interrupts become enabled: deliver anything pending."""

    def run_softirqs(self):
        """do_softirq(): run pending softirqs (called by local_bh_enable)."""


class CPU:
    """Per-CPU execution state that lives in the CPU's own process."""

    __slots__ = ("id", "preempt_count", "irqs_off", "irq_happened", "chip", "comm", "pid", "seq")

    def __init__(self, cpu_id=0, chip=None, comm="swapper", pid=0):
        self.id = cpu_id
        self.preempt_count = 0
        self.irqs_off = False
        self.irq_happened = False  # an interrupt arrived while masked: replay at unmask
        self.chip = chip or IrqChip()
        self.comm = comm
        self.pid = pid
        self.seq = 0           # operations started on this CPU (alloc/free sites)

    def context(self):
        pc = self.preempt_count
        if pc & NMI_MASK:
            return CTX_NMI
        if pc & HARDIRQ_MASK:
            return CTX_HARDIRQ
        if pc & SOFTIRQ_OFFSET:
            return CTX_SOFTIRQ
        return CTX_TASK

    def __repr__(self):
        return f"CPU {self.id}"


this_cpu = CPU(0)


def set_this_cpu(cpu):
    """Make ``cpu`` the CPU this process runs (a worker does this after fork)."""
    global this_cpu
    this_cpu = cpu
    return cpu


def smp_processor_id():
    return this_cpu.id


def preempt_count():
    return this_cpu.preempt_count


def in_atomic():
    return this_cpu.preempt_count != 0


def in_interrupt():
    return bool(this_cpu.preempt_count & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_MASK))


def in_irq():
    return bool(this_cpu.preempt_count & HARDIRQ_MASK)


in_hardirq = in_irq


def in_nmi():
    return bool(this_cpu.preempt_count & NMI_MASK)


def in_softirq():
    """Serving a softirq or with bottom halves disabled."""
    return bool(this_cpu.preempt_count & SOFTIRQ_MASK)


def in_serving_softirq():
    return bool(this_cpu.preempt_count & SOFTIRQ_OFFSET)


def in_task():
    return not this_cpu.preempt_count & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_OFFSET)


def irqs_disabled():
    return this_cpu.irqs_off


def preemptible():
    cpu = this_cpu
    return cpu.preempt_count == 0 and not cpu.irqs_off


def preempt_disable():
    this_cpu.preempt_count += PREEMPT_OFFSET


def preempt_enable():
    this_cpu.preempt_count -= PREEMPT_OFFSET


def local_irq_disable():
    cpu = this_cpu
    if not cpu.irqs_off:
        cpu.irqs_off = True
        if cpu.chip.masks:
            cpu.chip.disable()


def local_irq_enable():
    cpu = this_cpu
    if cpu.irqs_off:
        cpu.irqs_off = False
        if cpu.irq_happened or cpu.chip.masks:
            cpu.chip.enable()


def local_irq_save():
    """Disable interrupts; returns the flags to give to local_irq_restore."""
    cpu = this_cpu
    flags = cpu.irqs_off
    if not flags:
        cpu.irqs_off = True
        if cpu.chip.masks:
            cpu.chip.disable()
    return flags


def local_irq_restore(flags):
    cpu = this_cpu
    if not flags and cpu.irqs_off:
        cpu.irqs_off = False
        if cpu.irq_happened or cpu.chip.masks:     # powerpc: replay what came while masked
            cpu.chip.enable()


def local_bh_disable():
    this_cpu.preempt_count += SOFTIRQ_DISABLE_OFFSET


def local_bh_enable():
    cpu = this_cpu
    cpu.preempt_count -= SOFTIRQ_DISABLE_OFFSET
    if not cpu.preempt_count & (HARDIRQ_MASK | SOFTIRQ_MASK | NMI_MASK) and not cpu.irqs_off:
        cpu.chip.run_softirqs()


def __irq_enter():
    this_cpu.preempt_count += HARDIRQ_OFFSET


def __irq_exit():
    this_cpu.preempt_count -= HARDIRQ_OFFSET


def __local_bh_enter_serving():
    """Entering __do_softirq(): serving, counted as SOFTIRQ_OFFSET."""
    this_cpu.preempt_count += SOFTIRQ_OFFSET


def __local_bh_exit_serving():
    this_cpu.preempt_count -= SOFTIRQ_OFFSET


def nmi_enter():
    this_cpu.preempt_count += NMI_OFFSET + HARDIRQ_OFFSET


def nmi_exit():
    this_cpu.preempt_count -= NMI_OFFSET + HARDIRQ_OFFSET
