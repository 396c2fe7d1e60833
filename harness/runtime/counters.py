"""Run-wide counters and control words in the arena, written by the CPUs, read by the machine.

Everything a report needs lives here rather than in a CPU's memory, so a CPU
that is SIGKILLed or stopped by the watchdog loses nothing it had counted.
Each CPU writes only its own rows (no lock); the machine only reads them,
except ``run_ctl`` which the machine writes and the CPUs read.

Per-CPU rows are cache-line aligned, as the kernel's per-CPU data is
(``____cacheline_aligned_in_smp``): two CPUs writing their own words of one
64-byte line would make two cores fight over it at every operation (false
sharing), and 2 CPUs would not run twice as fast as one.  A word per CPU is
a 64-byte line per CPU (``percpu_words``: a view with a stride of LINE_WORDS
that indexes by CPU as a plain array would); a row per CPU is padded to a
whole number of lines.

Arena sections (c = CPU, x = harness context, o = op code)::

    run_ctl     i64[8]                       0 GO (start barrier released)
                                             1 STOP (leave the main loop)
                                             2 ABORT (skip teardown, exit now)
    cpu_phase   i64[nr_cpus * LINE_WORDS]    phase reached (PHASE_*): the barriers
    cpu_beat    i64[nr_cpus * LINE_WORDS]    heartbeat: bumped at every iteration,
                                             cond_resched() and barrier poll
    cpu_doing   i64[nr_cpus * LINE_WORDS]    what the CPU is doing: x << 16 | o
                                             (o = OP_CALL: inside the context's
                                             workload function, between model calls)
                (these three: CPU c's word at c * LINE_WORDS, the rest of its line unused)
    cpu_ops     i64[nr_cpus * NR_CTX * NR_OPS]   completed calls per op (a CPU's
                                             NR_CTX * NR_OPS words are whole lines)
    cpu_stat    i64[nr_cpus * STAT_ROW]      interrupt, softirq, mailbox counters
                                             (NR_STATS used of each CPU's STAT_ROW)

Harness contexts are finer than the model's: a tasklet runs in softirq
context (the model says CTX_SOFTIRQ) but is counted on its own row.
"""

CONTEXTS = ("process", "hardirq", "softirq", "tasklet")
X_PROCESS, X_HARDIRQ, X_SOFTIRQ, X_TASKLET = range(4)
NR_CTX = len(CONTEXTS)

# Op codes: every allocator entry point ``k`` offers, plus OP_CALL (one call of
# the context's workload function or op-mix step).
OPS = ("call", "kmalloc", "kzalloc", "kfree", "krealloc", "ksize",
       "kmem_cache_create", "kmem_cache_alloc", "kmem_cache_free", "kmem_cache_destroy",
       "alloc_pages", "__get_free_pages", "get_zeroed_page", "__free_pages", "free_pages",
       "vmalloc", "vzalloc", "vfree", "read", "write", "memset", "send", "recv",
       "kmem_cache_prefill_sheaf", "kmem_cache_alloc_from_sheaf", "kmem_cache_return_sheaf")
OP = {name: i for i, name in enumerate(OPS)}
OP_CALL = 0
NR_OPS = len(OPS)

STATS = (
    "irq_raised",        # timer signals that reached the CPU
    "irq_delivered",     # hardirq handlers run
    "irq_in_model",      # ... whose signal arrived while process context was inside kernel_model
    "irq_deferred",      # arrived with interrupts masked, delivered at unmask
    "irq_coalesced",     # arrived while one was already pending (one pending bit, as an IRQ line)
    "irq_in_softirq",    # hardirq that interrupted a softirq or tasklet
    "softirq_raised",
    "softirq_runs",      # softirq handler invocations (the scenario's vector)
    "tasklet_runs",
    "softirq_restarts",  # __do_softirq restarted because more were raised meanwhile
    "ksoftirqd_wakeups", # restart budget exhausted: deferred to process context
    "alloc_failed",      # allocations that returned NULL
    "mbox_sent",
    "mbox_full",         # send() refused: the target's mailbox was full
    "mbox_recv",
    "mbox_leftover",     # entries still in this CPU's mailbox after teardown
    "failures",          # workload exceptions on this CPU
)
STAT = {name: i for i, name in enumerate(STATS)}
NR_STATS = len(STATS)

LINE_WORDS = 8                          # i64 words in a 64-byte cache line
STAT_ROW = -(-NR_STATS // LINE_WORDS) * LINE_WORDS     # a CPU's cpu_stat row, whole lines
assert NR_CTX * NR_OPS % LINE_WORDS == 0, "pad cpu_ops rows to whole cache lines"

CTL_GO, CTL_STOP, CTL_ABORT = 0, 1, 2
# Phases a CPU passes through (cpu_phase); the machine and the other CPUs wait on them.
PHASE_FORKED, PHASE_READY, PHASE_RUNNING, PHASE_STOPPED, PHASE_TORNDOWN, PHASE_EXITED = range(6)


PERCPU_WORDS = ("cpu_phase", "cpu_beat", "cpu_doing")


def arena_sections(nr_cpus):
    return [("run_ctl", "q", 8)] + [(name, "q", nr_cpus * LINE_WORDS) for name in PERCPU_WORDS] + [
        ("cpu_ops", "q", nr_cpus * NR_CTX * NR_OPS), ("cpu_stat", "q", nr_cpus * STAT_ROW)]


def percpu_words(arena, name):
    """One of PERCPU_WORDS as a view indexed by CPU (a stride of one cache line)."""
    return arena.view(name, 0, len(arena.v[name]), LINE_WORDS)


def stat_base(cpu):
    """Index of CPU ``cpu``'s first counter in cpu_stat."""
    return cpu * STAT_ROW


def ops_base(cpu, ctx):
    """Index of (cpu, ctx, op 0) in cpu_ops."""
    return (cpu * NR_CTX + ctx) * NR_OPS


def doing_text(word):
    """Decode a cpu_doing word for people: "kmalloc in hardirq"."""
    ctx, op = word >> 16, word & 0xFFFF
    cname = CONTEXTS[ctx] if 0 <= ctx < NR_CTX else f"context {ctx}"
    if op == OP_CALL:
        return f"{cname} work (workload code, between model calls)"
    oname = OPS[op] if 0 <= op < NR_OPS else f"op {op}"
    return f"{oname}() in {cname} context"


def snapshot(arena, nr_cpus):
    """Plain-Python copy of every counter: {"ops": [[[..]]], "stat": [[..]], ...}."""
    ops = arena.np("cpu_ops").reshape(nr_cpus, NR_CTX, NR_OPS).tolist()
    stat = arena.np("cpu_stat").reshape(nr_cpus, STAT_ROW)[:, :NR_STATS].tolist()
    return {"ops": ops, "stat": stat, "phase": arena.np("cpu_phase")[::LINE_WORDS].tolist(),
            "doing": arena.np("cpu_doing")[::LINE_WORDS].tolist()}
