"""Samples of the model over time: a fixed-rate copy of a few arena counters into the arena.

Why here and why so.  The pictures of a run (harness/outputs/html.py) need
the zones' free pages, the buddy free lists, the slab fast-path counters,
the spinlock counters and the CPUs' activity *over time*, not only at the
end.  They all live in the arena already, so a sample is a handful of NumPy
slice copies (some microseconds) into a ring of rows in the arena itself,
never log parsing and never a message.  Who takes a sample depends on the
schedule, so that a serialised run's samples are as reproducible as the
run:

    none, free    the machine, every ``interval`` ms of wall time (its
                  monitor loop; ``t`` is milliseconds since the start barrier)
    serialised    the CPU that holds the token, when the global step reaches
                  the next multiple of ``interval`` steps (the engine's
                  ``sample`` hook, called at multiples of INTERVAL_STEPS;
                  ``t`` is the step number)

plus one sample at the start (t = 0) and one at the end of the run, both
taken by the machine while no CPU runs.  The ring is bounded: when its
CAPACITY rows are full, every other row is dropped and the interval doubles,
so a run of any length keeps at most CAPACITY evenly spaced samples.

Arena sections (W = row width, below)::

    sample_meta  i64[4]               0 rows used, 1 interval (ms or steps),
                                      2 next due t, 3 clock (CLOCK_MS, CLOCK_STEP)
    sample_rows  i64[CAPACITY * W]    one row per sample

A row: t; per zone type z < MAX_NR_ZONES (summed over the NUMA nodes):
NR_FREE_PAGES, WMARK_MIN, WMARK_LOW, WMARK_HIGH, free_area[0..MAX_PAGE_ORDER].nr_free; per cache id <
SAMPLED_CACHES: alloc_fastpath, alloc_slowpath (summed over CPUs); per lock
id < SAMPLED_LOCKS: acquired, contended; per CPU: calls in each harness
context (counters.CONTEXTS), hardirqs delivered.  Counters are cumulative;
the report turns them into rates and ratios (``decode``).

Only one writer at a time: the machine before the start barrier, after the
CPUs are gone and in none/free runs; the token holder in serialised runs.
"""

from kernel_model import spinlock
from kernel_model.gfp import MAX_NR_ZONES, ZONE_NAMES
from kernel_model.slab_common import MAX_CACHES, NAME_LEN, NR_STAT
from kernel_model.zone import (NR_FREE_PAGES, NR_PAGE_ORDERS, PRESENT, WMARK_HIGH, WMARK_LOW,
                               WMARK_MIN, ZONE_NR_FIELDS)

from harness.runtime import counters as C

CAPACITY = 600
SAMPLED_CACHES = 64
SAMPLED_LOCKS = 128
REPORTED = 16                 # the report keeps the busiest caches and locks
INTERVAL_MS = 50              # none/free runs: first interval (doubles as the ring fills)
INTERVAL_STEPS = 256          # serialised runs: first interval in scheduling steps (a power
                              # of two: the engine asks only at multiples of it)
CLOCK_MS, CLOCK_STEP = 0, 1
META_NR, META_INTERVAL, META_NEXT, META_CLOCK = range(4)
ZONE_W = 4 + NR_PAGE_ORDERS
CPU_W = C.NR_CTX + 1


def row_width(nr_cpus):
    return 1 + MAX_NR_ZONES * ZONE_W + 2 * SAMPLED_CACHES + 2 * SAMPLED_LOCKS + nr_cpus * CPU_W


def arena_sections(nr_cpus):
    return [("sample_meta", "q", 4), ("sample_rows", "q", CAPACITY * row_width(nr_cpus))]


class Sampler:
    """Views over the arena made once, before fork; ``take`` and ``tick`` in any process."""

    def __init__(self, arena, nr_cpus, clock):
        self.nr_cpus = nr_cpus
        self.meta = arena.v["sample_meta"]
        self.width = row_width(nr_cpus)
        self.rows = arena.np("sample_rows").reshape(CAPACITY, self.width)
        self.zone_meta = arena.np("zone_meta").reshape(-1, MAX_NR_ZONES, ZONE_NR_FIELDS)
        self.zone_fields = [NR_FREE_PAGES, WMARK_MIN, WMARK_LOW, WMARK_HIGH]
        self.free_area = arena.np("free_area_nr").reshape(-1, MAX_NR_ZONES, NR_PAGE_ORDERS)
        self.slab = None
        if "kmem_cache_stat" in arena.v:
            self.slab = arena.np("kmem_cache_stat").reshape(MAX_CACHES, nr_cpus, NR_STAT)[
                :SAMPLED_CACHES, :, :2]
        self.locks = arena.np("spinlock_stat").reshape(-1, 4)[:SAMPLED_LOCKS, :2]   # a model
        # booted with fewer lock slots leaves the rest of its columns 0
        self.ops = arena.np("cpu_ops").reshape(nr_cpus, C.NR_CTX, C.NR_OPS)[:, :, C.OP_CALL]
        self.irqs = arena.np("cpu_stat").reshape(nr_cpus, C.STAT_ROW)[:, C.STAT["irq_delivered"]]
        z0 = 1
        c0 = z0 + MAX_NR_ZONES * ZONE_W
        l0 = c0 + 2 * SAMPLED_CACHES
        p0 = l0 + 2 * SAMPLED_LOCKS
        self.cols = (z0, c0, l0, p0)
        interval = INTERVAL_STEPS if clock == CLOCK_STEP else INTERVAL_MS
        self.meta[META_NR], self.meta[META_INTERVAL] = 0, interval
        self.meta[META_NEXT], self.meta[META_CLOCK] = interval, clock

    def tick(self, t):
        """Take a sample if one is due at ``t`` (the engine's hook in serialised runs,
        the machine's monitor loop otherwise)."""
        meta = self.meta
        if t >= meta[META_NEXT]:
            self.take(t)
            meta[META_NEXT] = t + meta[META_INTERVAL]

    def close(self):
        """Let go of the arena's NumPy views (before the arena closes: a view still
        alive keeps the segment mapped, and its descriptor open, for the process's life)."""
        self.rows = self.zone_meta = self.free_area = self.slab = self.locks = None
        self.ops = self.irqs = self.meta = None

    def take(self, t):
        """Copy the counters into the next row (halving the ring first when it is full)."""
        meta = self.meta
        n = meta[META_NR]
        if n and self.rows[n - 1, 0] == t:
            n -= 1                         # the same instant twice: keep the later view
        elif n >= CAPACITY:
            self.rows[:CAPACITY // 2] = self.rows[0:CAPACITY:2]
            n = CAPACITY // 2
            meta[META_INTERVAL] = min(meta[META_INTERVAL] * 2, 1 << 40)
        row = self.rows[n]
        z0, c0, l0, p0 = self.cols
        row[0] = t
        zones = row[z0:c0].reshape(MAX_NR_ZONES, ZONE_W)
        zones[:, :4] = self.zone_meta[:, :, self.zone_fields].sum(axis=0)
        zones[:, 4:] = self.free_area.sum(axis=0)
        if self.slab is not None:
            row[c0:l0] = self.slab.sum(axis=1).reshape(-1)
        row[l0:l0 + self.locks.size] = self.locks.reshape(-1)
        cpus = row[p0:].reshape(self.nr_cpus, CPU_W)
        cpus[:, :C.NR_CTX] = self.ops
        cpus[:, C.NR_CTX] = self.irqs
        meta[META_NR] = n + 1


def decode(node, nr_cpus):
    """The samples of a finished run as the report's ``samples`` object (None: no samples).

    ``node``: the booted model, still open (names of zones, caches and locks are
    read from it).  Only populated zones are kept, and of the caches and locks
    that did anything the REPORTED busiest (sorted: stable, so ties keep id
    order); counters stay cumulative (the renderer differentiates).  The
    fragmentation index is not stored: it is a function of ``nr_free``
    (kernel_model/extfrag.py), computed where it is drawn.
    """
    arena = node.arena
    if "sample_meta" not in arena.v:
        return None
    meta = arena.v["sample_meta"]
    n = meta[META_NR]
    if not n:
        return None
    width = row_width(nr_cpus)
    rows = arena.np("sample_rows").reshape(CAPACITY, width)[:n]
    z0 = 1
    c0 = z0 + MAX_NR_ZONES * ZONE_W
    l0 = c0 + 2 * SAMPLED_CACHES
    p0 = l0 + 2 * SAMPLED_LOCKS
    out = {"clock": "step" if meta[META_CLOCK] == CLOCK_STEP else "ms",
           "interval": int(meta[META_INTERVAL]), "t": rows[:, 0].tolist(),
           "zones": [], "caches": [], "locks": [], "cpus": []}
    zone_meta = arena.np("zone_meta").reshape(-1, MAX_NR_ZONES, ZONE_NR_FIELDS).sum(axis=0)
    for z in range(MAX_NR_ZONES):
        if not zone_meta[z, PRESENT]:
            continue
        block = rows[:, z0 + z * ZONE_W: z0 + (z + 1) * ZONE_W]
        nr_free = block[:, 4:]
        out["zones"].append({
            "name": ZONE_NAMES[z], "free": block[:, 0].tolist(), "min": block[:, 1].tolist(),
            "low": block[:, 2].tolist(), "high": block[:, 3].tolist(),
            "nr_free": [nr_free[:, o].tolist() for o in range(NR_PAGE_ORDERS)]})
    if "kmem_cache_name" in arena.v:
        names = bytes(arena.v["kmem_cache_name"])
        for cid in range(SAMPLED_CACHES):
            fast, slow = rows[:, c0 + 2 * cid], rows[:, c0 + 2 * cid + 1]
            if not (fast[-1] or slow[-1]):
                continue
            name = names[cid * NAME_LEN:(cid + 1) * NAME_LEN].split(b"\0", 1)[0].decode("ascii", "replace")
            out["caches"].append({"name": name or f"cache {cid}", "alloc_fastpath": fast.tolist(),
                                  "alloc_slowpath": slow.tolist()})
    out["caches"].sort(key=lambda c: -(c["alloc_fastpath"][-1] + c["alloc_slowpath"][-1]))
    del out["caches"][REPORTED:]
    pool = node.locks
    for lid in range(min(SAMPLED_LOCKS, spinlock.MAX_LOCKS, pool.next[0])):
        acquired, contended = rows[:, l0 + 2 * lid], rows[:, l0 + 2 * lid + 1]
        if acquired[-1]:
            out["locks"].append({"name": pool.name_of(lid), "acquired": acquired.tolist(),
                                 "contended": contended.tolist()})
    out["locks"].sort(key=lambda lk: (-lk["contended"][-1], -lk["acquired"][-1]))
    del out["locks"][REPORTED:]
    for cpu in range(nr_cpus):
        base = p0 + cpu * CPU_W
        out["cpus"].append({"cpu": cpu,
                            "calls": {ctx: rows[:, base + x].tolist() for x, ctx in enumerate(C.CONTEXTS)},
                            "irqs": rows[:, base + C.NR_CTX].tolist()})
    return out
