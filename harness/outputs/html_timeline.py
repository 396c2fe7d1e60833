"""The per-CPU timeline of a trace: which CPU ran what, step by step, and where the bug was.

A trace (harness/scheduler/trace.py) is the run's yield points in order,
each a (CPU, kind) pair.  The timeline cuts the steps into at most BUCKETS
equal slices; in each slice a CPU that took steps gets a bar coloured by
what most of its steps were (allocator, free, lock, shared access,
interrupt, workload loop), hardirqs it took there get a tick above its
lane, and each violation of a scheduled or free-recorded run (whose record
carries the ``step`` it was reported at) is a red line across the lanes.
Adjacent slices of the same colour are one bar, so the SVG stays small for
a trace of millions of steps.
"""

import numpy as np

from harness.outputs import html_svg
from harness.scheduler.base import YIELD_KINDS

BUCKETS = 600
# (label, colour, yield kinds): what a step was doing, for the bar's colour
CATEGORIES = (
    ("allocator", "#1f77b4", ("alloc", "alloc_done", "slab", "buddy", "reclaim")),
    ("free", "#2ca02c", ("free",)),
    ("lock", "#ff7f0e", ("lock", "unlock", "spin", "locked", "trylocked", "wait")),
    ("shared access", "#9467bd", ("access", "peeked", "mailbox", "percpu_enter", "percpu_exit",
                                  "irq_enable")),
    ("interrupt", "#e377c2", ("irq", "softirq")),
    ("workload loop", "#b0b0b0", ("start", "iter", "loop_end", "done", "other")),
)
IRQ = YIELD_KINDS.index("irq")
VIOLATION_COLOUR = "#d62728"


def _category_of_kind():
    table = np.full(256, len(CATEGORIES) - 1, dtype=np.int64)
    for c, (_, _, kinds) in enumerate(CATEGORIES):
        for k in kinds:
            table[YIELD_KINDS.index(k)] = c
    return table


def timeline_svg(steps, nr_cpus, violations=(), title="Per-CPU timeline (from the trace)"):
    """The SVG of ``steps`` ([(cpu, kind)] or an (n, 2) array) on ``nr_cpus`` lanes;
    ``violations``: the run's records (those with a ``step`` are marked)."""
    arr = np.asarray(steps, dtype=np.int64).reshape(-1, 2)
    n = len(arr)
    if not n:
        return None
    cpus, kinds = arr[:, 0], arr[:, 1]
    nr_lanes = max(nr_cpus, int(cpus.max()) + 1)
    nb = min(BUCKETS, n)
    bucket = (np.arange(n, dtype=np.int64) * nb) // n
    cat = _category_of_kind()[kinds & 0xFF]
    ncat = len(CATEGORIES)
    counts = np.zeros((nr_lanes, nb, ncat), dtype=np.int64)
    np.add.at(counts, (cpus, bucket, cat), 1)
    irqs = np.zeros((nr_lanes, nb), dtype=np.int64)
    np.add.at(irqs, (cpus[kinds == IRQ], bucket[kinds == IRQ]), 1)
    per_bucket = n / nb                      # steps in one slice
    spans, marks = [], []
    for lane in range(nr_lanes):
        busy = counts[lane].sum(axis=1)
        main = counts[lane].argmax(axis=1)
        b = 0
        while b < nb:
            if not busy[b]:
                b += 1
                continue
            e = b
            while e + 1 < nb and busy[e + 1] and main[e + 1] == main[b]:
                e += 1
            label, colour, _ = CATEGORIES[main[b]]
            lo, hi = int(b * per_bucket) + 1, int((e + 1) * per_bucket)
            spans.append((lane, b * per_bucket, (e + 1) * per_bucket, colour,
                          f"CPU {lane}, steps {lo}-{hi}: mostly {label} "
                          f"({int(busy[b:e + 1].sum())} steps)"))
            b = e + 1
        for b in np.nonzero(irqs[lane])[0]:
            marks.append((lane, (b + 0.5) * per_bucket, CATEGORIES[4][1],
                          f"CPU {lane}: {int(irqs[lane, b])} hardirq(s) near step {int(b * per_bucket) + 1}"))
    vlines = []
    for v in violations:
        step = v.get("step")
        if isinstance(step, int) and 0 < step <= n:
            where = f" on CPU {v['cpu']}" if v.get("cpu") is not None else ""
            vlines.append((step, VIOLATION_COLOUR, f"{v.get('kind', 'violation')} at step {step}{where}"))
    legend = [(label, colour) for label, colour, _ in CATEGORIES] + [("hardirq (tick)", CATEGORIES[4][1]),
                                                                      ("violation", VIOLATION_COLOUR)]
    return html_svg.lanes("timeline", title, nr_lanes, lambda lane: f"CPU {lane}", spans, marks,
                          vlines, n, f"scheduling step (of {n:,})", legend)
