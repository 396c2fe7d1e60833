"""Sleeping in atomic context: the kernel's might_sleep() / __might_sleep().

The model calls ``might_sleep(where, gfp)`` at every entry that may block:
an allocation whose mask has __GFP_DIRECT_RECLAIM (might_alloc), vmalloc,
a __GFP_NOFAIL retry.  In atomic context -- preempt_count != 0 (hardirq,
softirq, tasklet, spinlock held, preempt/bh disabled) or interrupts off --
that is ``BUG: sleeping function called from invalid context``, printed as
kernel/sched/core.c's __might_resched() prints it (at the workload's line, with
the locks held: ``harness/outputs/text.py``).
"""

from kernel_model import context, gfp as g

from .base import Checker

ADVICE = {
    context.CTX_HARDIRQ: "in a hardirq handler use GFP_ATOMIC",
    context.CTX_SOFTIRQ: "in a softirq or tasklet use GFP_ATOMIC",
    context.CTX_NMI: "do not allocate in NMI context at all",
}


class SleepChecker(Checker):
    name = "sleep"

    def might_sleep(self, where, gfp=None):
        cpu = context.this_cpu
        pc = cpu.preempt_count
        if not pc and not cpu.irqs_off:
            return
        ctx = cpu.context()
        if ctx in ADVICE:
            advice = ADVICE[ctx]
        elif cpu.irqs_off:
            advice = "interrupts are disabled: allocate before local_irq_save(), or use GFP_ATOMIC"
        elif pc & context.SOFTIRQ_MASK:
            advice = "bottom halves are disabled: allocate before local_bh_disable(), or use GFP_ATOMIC"
        else:
            advice = ("a spinlock is held or preemption is disabled: allocate before taking the "
                      "lock, or use GFP_ATOMIC")
        self.violation("sleep-in-atomic", function=_function(where),
                       details={"where": where, "preempt_count": pc,
                                "irqs_disabled": bool(cpu.irqs_off),
                                "gfp": g.format_gfp(gfp) if gfp is not None else None,
                                "advice": advice})


def _function(where):
    """``mm/slub.c:slab_alloc_node`` -> ``slab_alloc_node``: the model function that may sleep."""
    return where.rsplit(":", 1)[-1] if isinstance(where, str) else ""
