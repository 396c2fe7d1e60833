"""The measurements behind ``mmstress bench``: how fast the model and the harness are.

Two kinds of measurement, all taken in one run:

* model micro-benchmarks, in this process (no CPUs forked by the harness):
  kmalloc(64)+kfree pairs per second, the SLUB fast path against its slow
  paths, SLUB against the classic SLAB and against SLUB with sheaves (7.0,
  with its own fast/slow split), and boot time and metadata bytes per page
  (tests/bench/ times finer per-operation costs with pytest-benchmark);
* harness runs through ``harness.supervisor.machine.run``: the checkers' overhead on the
  ``smoke`` scenario; on a per-CPU-local workload (no mailbox, so Hoard's ideal
  is P-fold) 2 CPUs against 1 under none, and the recorded modes (--sched random,
  --sched free: one CPU at a time) against none on one core, each 2-CPU run
  compared with 1 CPU doing the same total work; and a workload whose accesses
  are scheduling points (--sched random) against none.

Every run is a fixed amount of work (``ops`` iterations per CPU or ``n``
pairs), never a duration, so the two sides of a ratio do the same work and a
rate is work / time.  The time is CPU time where one CPU does the work alone
-- the in-process slab rates and the floor (this process's CPU time) and the
1-CPU checker-overhead runs (the CPU process's, by RUSAGE_CHILDREN) -- since
on a shared machine the wall clock also counts the time other processes had
the core; rows about parallelism or schedules (2 CPUs, --sched) use the wall
clock, which is what they measure.  Rates are measured, never asserted: a row
below its target says MISS, and ``mmstress bench`` still exits 0.  The
machine is whatever runs the bench, often shared: compare figures from one
run, not across machines.
"""

import dataclasses
import os
import platform
import resource
import statistics
import time
from multiprocessing import shared_memory

import kernel_model as km
from kernel_model import context, slab_common as sc
from kernel_model.slub import KCC_FREELIST, KCC_NF, KCC_SLAB, KCC_TID, TID_STEP
from harness.runtime import bootargs

# --- rows --------------------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    """One line of the table: a measured value against its target (``op`` ">=" or "<=")."""
    key: str
    label: str
    value: float | None
    unit: str
    op: str
    target: float
    detail: str = ""
    error: str | None = None

    @property
    def status(self):
        if self.value is None:
            return "ERROR"
        if self.op == "ref":                # a reference the other rows are measured against
            return "REF"
        ok = self.value >= self.target if self.op == ">=" else self.value <= self.target
        return "PASS" if ok else "MISS"

    def as_dict(self):
        return {"key": self.key, "label": self.label, "value": self.value, "unit": self.unit,
                "target": self.target, "target_op": self.op, "status": self.status,
                "detail": self.detail, "error": self.error}


class BenchError(Exception):
    """A measurement could not be taken (a run failed); its row says ERROR and why."""


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived during a harness run; ``signum`` says which."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


@dataclasses.dataclass
class Sizes:
    """How much work each measurement does (``quick`` for the test and a first look)."""
    pairs: int = 200_000          # kmalloc+kfree pairs per slab rate
    ops: int = 15_000             # smoke iterations (1 CPU), checkers on and off
    local_ops: int = 20_000       # per-CPU-local iterations per CPU (scaling, schedules)
    boot_runs: int = 5            # boots per model size (the median is kept)
    repeat: int = 3               # harness runs per side of a ratio (the fastest is kept)
    seed: int = 1

    @classmethod
    def quick(cls):
        return cls(pairs=20_000, ops=300, local_ops=2000, boot_runs=1, repeat=1)


def machine_info():
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:                  # not Linux
        usable = os.cpu_count()
    return {"cores": os.cpu_count(), "usable_cores": usable,
            "python": platform.python_version(), "implementation": platform.python_implementation(),
            "arch": platform.machine(), "system": f"{platform.system()} {platform.release()}"}


# --- slab micro-benchmarks ---------------------------------------------------------------------


def cpu_clock():
    """This process's CPU time: a one-CPU loop's time, less what other processes took."""
    return time.process_time()


def children_cpu_time():
    """CPU time of this process's finished (and reaped) child processes so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def pairs_per_second(alloc, free, arg, n, clock=cpu_clock):
    t0 = clock()
    for _ in range(n):
        free(alloc(arg, km.GFP_KERNEL))
    return n / max(clock() - t0, 1e-9)


def floor_rate(n):
    """The Python floor: kmalloc+kfree "pairs"/s of the bare shared-memory traffic the
    SLUB fast path must do and nothing else -- the reference every fast-path row is a
    multiple of (issue: the model's cost is what is above this).

    Alloc: READ_ONCE(c->tid), c->freelist, c->slab, the next pointer of the object,
    the irq flag set and cleared around the tid/freelist compare-and-swap, the two
    stores.  Free: the tid, c->slab and c->freelist loads, set_freepointer, the irq
    flag, the two stores.  It runs on a real booted cache's ``kmem_cache_cpu`` row
    and object memory (the same memoryviews of the same arena), one object in a loop.
    """
    flag_shm = shared_memory.SharedMemory(create=True, size=8)     # the irq flag, shared
    try:
        return _floor_loop(n, flag_shm.buf)
    finally:
        flag_shm.close()
        flag_shm.unlink()


def _floor_loop(n, irq):
    flag = 0
    with km.boot(total="64M", page_data=True, slab="slub", slub_debug=False):
        s = km.kmem_cache_create("bench-floor", 64)
        obj0 = km.kmem_cache_alloc(s, km.GFP_KERNEL)     # a CPU slab with a freelist
        kcc, dq, fpb = s.kcc, s.data_q, s.fp_base
        c = s.cpu_base + context.this_cpu.id * KCC_NF
        c_freelist, c_tid, c_slab = c + KCC_FREELIST, c + KCC_TID, c + KCC_SLAB
        t0 = cpu_clock()
        for _ in range(n):
            tid = kcc[c_tid]                                 # alloc
            obj = kcc[c_freelist]
            slab = kcc[c_slab]
            nxt = dq[(obj - fpb) >> 3]
            irq[flag] = 1
            if kcc[c_tid] == tid and kcc[c_freelist] == obj and slab:
                kcc[c_freelist] = nxt
                kcc[c_tid] = tid + TID_STEP
            irq[flag] = 0
            tid = kcc[c_tid]                                 # free
            if kcc[c_slab] == slab:
                freelist = kcc[c_freelist]
                dq[(obj - fpb) >> 3] = freelist
                irq[flag] = 1
                if kcc[c_tid] == tid and kcc[c_freelist] == freelist:
                    kcc[c_freelist] = obj
                    kcc[c_tid] = tid + TID_STEP
                irq[flag] = 0
        rate = n / max(cpu_clock() - t0, 1e-9)
        km.kmem_cache_free(s, obj0)
        return rate


def kmalloc_rate(kind, n, debug=False):
    """kmalloc(64)+kfree pairs/s on one CPU, caches warmed first."""
    with km.boot(total="64M", page_data=True, slab=kind, slub_debug=debug):
        pairs_per_second(km.kmalloc, km.kfree, 64, 2000)             # warm the caches
        return pairs_per_second(km.kmalloc, km.kfree, 64, n)


def per_op_costs(n, batch=2048):
    """Time every alloc and free of a batch workload; split them by the path taken.

    An alloc is "slow" if alloc_slowpath moved during it (___slab_alloc: CPU
    freelist empty -> refill, partial lists under list_lock, or new_slab), a
    free if free_slowpath moved (__slab_free: object of a slab that is not
    the CPU slab): "free_slow_locked" when it took n->list_lock (the slab
    moved between lists: full to partial, or empty and discarded), else
    "free_slow" (the slab's freelist cmpxchg alone, as most remote frees in
    the kernel).  Returns
    ``{"alloc_fast": (median us, count), ...}``.
    """
    from kernel_model.slab_common import ALLOC_SLOWPATH, FREE_SLOWPATH
    with km.boot(total="64M", page_data=True, slab="slub", slub_debug=False):
        c = km.kmem_cache_create("perop", 64)
        sv = c.statv
        a_slow, f_slow = sc.stat_slot(c, 0, ALLOC_SLOWPATH), sc.stat_slot(c, 0, FREE_SLOWPATH)
        alloc, free, clock = km.kmem_cache_alloc, km.kmem_cache_free, time.perf_counter_ns
        times = {"alloc_fast": [], "alloc_slow": [], "free_fast": [], "free_slow": [],
                 "free_slow_locked": []}
        lstat, lacq = c.list_lock.stat, c.list_lock.id * 4     # list_lock's acquired count
        done = 0
        while done < n:
            objs = []
            for _ in range(batch):
                before = sv[a_slow]
                t0 = clock()
                o = alloc(c, km.GFP_KERNEL)
                t1 = clock()
                objs.append(o)
                times["alloc_slow" if sv[a_slow] != before else "alloc_fast"].append(t1 - t0)
            # free in a shuffled but fixed order so some frees hit the CPU slab
            for o in objs[::2] + objs[1::2]:
                before, locked = sv[f_slow], lstat[lacq]
                t0 = clock()
                free(c, o)
                t1 = clock()
                if sv[f_slow] == before:
                    times["free_fast"].append(t1 - t0)
                elif lstat[lacq] != locked:
                    times["free_slow_locked"].append(t1 - t0)
                else:
                    times["free_slow"].append(t1 - t0)
            done += batch
        return {k: (statistics.median(v) / 1000 if v else float("nan"), len(v))
                for k, v in times.items()}


def sheaf_op_costs(n, batch=2048):
    """The same batch workload on the sheaves allocator, split by path: an alloc is
    "slow" when this CPU's main sheaf was empty (__pcs_replace_empty_main: the
    spare, a barn full sheaf, or refill_sheaf from the slabs), a free when it was
    full (__pcs_replace_full_main: the spare, the barn, or a flush).  Returns
    ``{"alloc_fast": (median us, count), ...}``."""
    from kernel_model import sheaves
    with km.boot(total="64M", page_data=True, slab="sheaves", slub_debug=False):
        c = km.kmem_cache_create("perop", 64)
        cap, sh, pcs, p = c.sheaf_capacity, c.sh, c.pcs, c.pcs_base
        nf = sheaves.SHEAF_NF
        alloc, free, clock = km.kmem_cache_alloc, km.kmem_cache_free, time.perf_counter_ns
        times = {"alloc_fast": [], "alloc_slow": [], "free_fast": [], "free_slow": []}
        done = 0
        while done < n:
            objs = []
            for _ in range(batch):
                slow = not sh[(pcs[p] - 1) * nf]                 # main->size == 0
                t0 = clock()
                o = alloc(c, km.GFP_KERNEL)
                t1 = clock()
                objs.append(o)
                times["alloc_slow" if slow else "alloc_fast"].append(t1 - t0)
            for o in objs[::2] + objs[1::2]:
                slow = sh[(pcs[p] - 1) * nf] == cap              # main->size == capacity
                t0 = clock()
                free(c, o)
                t1 = clock()
                times["free_slow" if slow else "free_fast"].append(t1 - t0)
            done += batch
        return {k: (statistics.median(v) / 1000 if v else float("nan"), len(v))
                for k, v in times.items()}


def two_cpu_rate(n):
    """kmalloc(64)+kfree pairs/s on each of two CPU processes running at once."""
    with km.boot(total="64M", nr_cpus=2, page_data=True, slab="slub", slub_debug=False):
        children = []
        try:
            for cpu in range(2):
                r, w = os.pipe()
                pid = os.fork()
                if pid == 0:                                     # CPU `cpu`: never returns
                    code = 1
                    try:
                        os.close(r)
                        context.set_this_cpu(context.CPU(cpu))
                        pairs_per_second(km.kmalloc, km.kfree, 64, 2000)
                        # the wall clock: this row is about two CPUs at once
                        rate = pairs_per_second(km.kmalloc, km.kfree, 64, n, time.perf_counter)
                        os.write(w, f"{rate}".encode())
                        code = 0
                    finally:
                        os._exit(code)
                os.close(w)
                children.append((pid, r))
            rates = []
            for cpu, (pid, r) in enumerate(children):
                text = os.read(r, 100)
                if not text:
                    raise BenchError(f"CPU {cpu} of the two-CPU slab benchmark died")
                rates.append(float(text))
            return rates
        finally:
            for pid, r in children:
                os.close(r)
                os.waitpid(pid, 0)


# --- boot -------------------------------------------------------------------------------------


def time_boot(layout, page_data, runs=5):
    """Median boot time in seconds and metadata bytes per page (page data excluded)."""
    times, per_page = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        with km.boot(layout, page_data=page_data) as node:
            times.append(time.perf_counter() - t0)
            if node.total_free_pages() != layout.nr_pages:
                raise BenchError(f"booted {layout.describe()} with {node.total_free_pages()} of "
                                 f"{layout.nr_pages} pages free")
            data = node.nr_pages * node.page_size if page_data else 0
            per_page = (node.arena.size - data) / node.nr_pages
    return statistics.median(times), per_page


# --- harness runs ------------------------------------------------------------------------------

LOCAL_WORKLOAD = """\
name = "bench-local"
description = "kmalloc(64)/kfree on every CPU, each CPU freeing only its own objects"
cpus = 1
ops = 1000
checkers = []

[interrupts]
rate = 0

[process]
max_held = 16
free = 0.5
remote_free = 0
ops = [ { op = "kmalloc", size = 64, gfp = "GFP_KERNEL" } ]
"""


def local_scenario(cpus, ops):
    """The per-CPU-local workload: no mailbox, no interrupts, no checkers."""
    from harness import scenario
    sc0 = scenario.parse(LOCAL_WORKLOAD, "<bench local workload>", "bench-local")
    return dataclasses.replace(sc0, cpus=cpus, ops=ops, duration=None)


def _timed_run(sc0, seed, sched=None, cpu_time=False):
    """One harness run: (process iterations, process kfree calls, seconds): elapsed
    wall time, or with ``cpu_time`` the CPU time its processes used (one CPU: that
    CPU's own time, whatever else the machine runs)."""
    from harness.runtime import counters as C
    from harness.supervisor import machine
    c0 = children_cpu_time()
    res = machine.run(sc0, seed, sched=sched)
    spent = children_cpu_time() - c0 if cpu_time else res.elapsed
    if res.interrupted:
        raise Interrupted(res.interrupted)
    if res.exit_code != 0:
        what = [f["message"] for f in res.failures] + [v["kind"] for v in res.violations]
        raise BenchError(f"{sc0.name} (seed {seed}) {res.status}: "
                         f"{'; '.join(map(str, what[:3])) or 'invariants broke'}")
    ops = res.counters.get("ops", [])
    iters = sum(cpu[C.X_PROCESS][C.OP_CALL] for cpu in ops)
    frees = sum(cpu[C.X_PROCESS][C.OP["kfree"]] for cpu in ops)
    return iters, frees, max(spent, 1e-9)


def best_rate(sc0, seed, repeat, sched_for=None, cpu_time=False):
    """Fastest of ``repeat`` runs: (process iterations/s, kfree pairs/s)."""
    best = (0.0, 0.0)
    for _ in range(repeat):
        sched = sched_for(sc0) if sched_for else None
        iters, nfree, elapsed = _timed_run(sc0, seed, sched, cpu_time)
        best = max(best, (iters / elapsed, nfree / elapsed))
    return best


def checker_overhead(sizes):
    """smoke with every checker vs with none, same seed and iterations: slowdown factor."""
    from harness import scenario
    # One CPU: the checkers' own cost, not two CPU processes contending for two cores
    # (with 2 CPUs, run-to-run noise on a 2-core machine was larger than the effect).
    base = dataclasses.replace(scenario.resolve("smoke"), ops=sizes.ops, duration=None, cpus=1)
    on, _ = best_rate(base, sizes.seed, sizes.repeat, cpu_time=True)
    # checkers = [] alone would also drop the slub_debug layout: keep it, so the row
    # measures the checkers on one memory layout.
    off, _ = best_rate(dataclasses.replace(base, checkers=[],
                                           debug=bootargs.BootArgs(slub_debug="PZU")),
                       sizes.seed, sizes.repeat, cpu_time=True)
    return off / on, on, off, len(base.checkers)


def one_core(sizes, cache):
    """The free-running reference: ``--sched none`` on 1 CPU doing 2 x local_ops
    iterations -- the total work of the 2-CPU runs it is compared with.  Shared by
    the scaling row and the serialised rows (cached in ``cache``)."""
    if "one_core" not in cache:
        cache["one_core"] = best_rate(local_scenario(1, 2 * sizes.local_ops), sizes.seed,
                                      sizes.repeat)
    return cache["one_core"]


def cpu_scaling(sizes, cache=None):
    """Local workload, --sched none: pairs/s of 2 CPUs x local_ops iterations over 1 CPU
    x 2 local_ops (the same total work); Hoard's ideal is 2x."""
    _, one = one_core(sizes, {} if cache is None else cache)
    _, two = best_rate(local_scenario(2, sizes.local_ops), sizes.seed, sizes.repeat)
    return two / one, one, two


def schedule_cost(sizes, strategy="random", cache=None):
    """Local workload: iterations/s of 2 CPUs x local_ops under ``--sched strategy`` over
    free running (none) on 1 CPU x 2 local_ops -- the same total work.  A recorded run
    (free: a ticket; random: a token) runs one CPU at a time, so one core running the
    same work freely is what it can at best match (1.0x)."""
    from harness.scheduler import options as scheduling
    free, _ = one_core(sizes, {} if cache is None else cache)
    det, _ = best_rate(local_scenario(2, sizes.local_ops), sizes.seed, sizes.repeat,
                       sched_for=lambda s: scheduling.options_for(strategy, s))
    return det / free, det, free


def access_point_cost(sizes):
    """A workload that shares one object (race_refcount_ok: atomic get/put on it, 2 CPUs):
    process iterations/s under --sched random, where its every shared access is a
    scheduling point and watched by KCSAN, over --sched none, same work."""
    from harness import scenario
    from harness.scheduler import options as scheduling
    base = dataclasses.replace(scenario.resolve("bugs/race_refcount_ok"), ops=sizes.ops,
                               duration=None)
    none, _ = best_rate(base, sizes.seed, sizes.repeat)
    det, _ = best_rate(base, sizes.seed, sizes.repeat,
                       sched_for=lambda s: scheduling.options_for("random", s))
    return det / none, det, none


# --- the table ---------------------------------------------------------------------------------

def measurements(sizes):
    """(key, label, unit, op, target, fn): fn() -> (value, detail).  Order = the table's."""
    state = {}

    def floor():
        state["floor"] = floor_rate(sizes.pairs)
        return state["floor"], (f"{1e6 / state['floor']:.2f} us/pair: the fast path's shared-memory "
                                "loads and stores alone, 1 CPU (CPU time)")

    def times_floor(kind, debug=False):
        def fn():
            key = kind + ("+debug" if debug else "")
            if key not in state:
                state[key] = kmalloc_rate(kind, sizes.pairs, debug=debug)
            fl = state.get("floor") or floor()[0]
            return fl / state[key], f"{kind}{' with slub_debug' if debug else ''} " \
                                    f"{state[key]:,.0f} pairs/s, floor {fl:,.0f}"
        return fn

    def slub():
        state["slub"] = kmalloc_rate("slub", sizes.pairs)
        fl = f", {state['floor'] / state['slub']:.1f}x the floor" if "floor" in state else ""
        return state["slub"], f"{1e6 / state['slub']:.2f} us/pair, 1 CPU, debug off{fl}"

    def slub2():
        rates = two_cpu_rate(sizes.pairs)
        return min(rates), "both CPUs at once: " + ", ".join(f"CPU {i} {r:,.0f}" for i, r in
                                                             enumerate(rates))

    def costs(kind, slow=None):
        slow = slow or kind + "_slow"

        def fn():
            if "costs" not in state:
                state["costs"] = per_op_costs(max(sizes.pairs // 2, 4096))
            (f, nf), (s, ns) = state["costs"][kind + "_fast"], state["costs"][slow]
            if not ns:
                raise BenchError(f"no {kind} took this slow path")
            return s / f, f"median fast {f:.2f} us ({nf:,} ops), slow {s:.2f} us ({ns:,} ops)"
        return fn

    def slab():
        slub_rate = state.get("slub") or kmalloc_rate("slub", sizes.pairs)
        state["slab"] = slab_rate = state.get("slab") or kmalloc_rate("slab", sizes.pairs)
        return slub_rate / slab_rate, f"SLUB {slub_rate:,.0f} vs SLAB {slab_rate:,.0f} pairs/s"

    def sheaves():
        slub_rate = state.get("slub") or kmalloc_rate("slub", sizes.pairs)
        state["sheaves"] = rate = state.get("sheaves") or kmalloc_rate("sheaves", sizes.pairs)
        slab = f", SLAB {state['slab']:,.0f}" if "slab" in state else ""
        return rate / slub_rate, (f"sheaves {rate:,.0f} vs SLUB {slub_rate:,.0f}{slab} "
                                  "pairs/s, 1 CPU, debug off")

    def sheaf_costs(kind):
        def fn():
            if "sheaf_costs" not in state:
                state["sheaf_costs"] = sheaf_op_costs(max(sizes.pairs // 2, 4096))
            (f, nf), (s, ns) = state["sheaf_costs"][kind + "_fast"], \
                state["sheaf_costs"][kind + "_slow"]
            if not ns:
                state_word = "empty" if kind == "alloc" else "full"
                raise BenchError(f"no {kind} found its main sheaf {state_word}")
            return s / f, f"median fast {f:.2f} us ({nf:,} ops), slow {s:.2f} us ({ns:,} ops)"
        return fn

    def checkers():
        ratio, on, off, n = checker_overhead(sizes)
        return ratio, (f"smoke, 1 CPU, seed {sizes.seed}, --ops {sizes.ops}: {n} checkers {on:,.0f} "
                       f"it/s, none {off:,.0f} it/s (per CPU second)")

    def scaling():
        ratio, one, two = cpu_scaling(sizes, state)
        return ratio, (f"local kmalloc(64)/kfree, none: 2 CPUs x {sizes.local_ops} it "
                       f"{two:,.0f} pairs/s, 1 CPU x {2 * sizes.local_ops} it {one:,.0f} pairs/s")

    def sched(strategy):
        def fn():
            ratio, det, free = schedule_cost(sizes, strategy, state)
            return ratio, (f"local, same work: --sched {strategy} 2 CPUs x {sizes.local_ops} it "
                           f"{det:,.0f} it/s, none 1 CPU x {2 * sizes.local_ops} it {free:,.0f} it/s "
                           "(one CPU runs at a time: 1.0x is the ceiling)")
        return fn

    def access():
        ratio, det, none = access_point_cost(sizes)
        return ratio, (f"bugs/race_refcount_ok, 2 CPUs, --ops {sizes.ops}: --sched random "
                       f"{det:,.0f} it/s, none {none:,.0f} it/s")

    def boot(total, page_data, what):
        def fn():
            key = (total, page_data)
            if key not in state:
                state[key] = time_boot(km.MemoryLayout("x86_64", total=total), page_data,
                                       sizes.boot_runs)
            t, per_page = state[key]
            data = "with page data" if page_data else "metadata only"
            if what == "time":
                return t * 1000, f"x86_64 {total}, {data}, median of {sizes.boot_runs}"
            return per_page, "the kernel's struct page is 64 bytes"
        return fn

    return [
        ("floor_pairs", "Python floor (bare fast-path memory)", "pairs/s", "ref", 0, floor),
        ("kmalloc_pairs_per_cpu", "kmalloc(64)+kfree pairs/s per CPU", "pairs/s", ">=", 100_000, slub),
        ("slub_vs_floor", "  SLUB fast path / floor (time)", "x", "<=", 3.0, times_floor("slub")),
        ("kmalloc_pairs_per_cpu_2cpus", "  same, 2 CPUs at once (slower CPU)", "pairs/s", ">=",
         100_000, slub2),
        ("slow_fast_alloc", "slow (locked)/fast path cost, alloc", "x", ">=", 3.0, costs("alloc")),
        ("slow_fast_free", "slow (list_lock)/fast path cost, free", "x", ">=", 3.0,
         costs("free", "free_slow_locked")),
        ("slow_fast_free_cmpxchg", "  slow (cmpxchg only)/fast, free", "x", ">=", 1.0,
         costs("free", "free_slow")),
        ("slub_vs_slab", "SLUB/SLAB pairs/s", "x", ">=", 1.0, slab),
        ("slab_vs_floor", "  SLAB / floor (time)", "x", "<=", 3.0, times_floor("slab")),
        ("sheaves_vs_slub", "sheaves (7.0)/SLUB pairs/s", "x", ">=", 1.0, sheaves),
        ("sheaves_vs_floor", "  sheaves / floor (time)", "x", "<=", 3.0, times_floor("sheaves")),
        ("sheaves_slow_fast_alloc", "  sheaves: sheaf exchange/fast, alloc", "x", ">=", 3.0,
         sheaf_costs("alloc")),
        ("sheaves_slow_fast_free", "  sheaves: sheaf exchange/fast, free", "x", ">=", 3.0,
         sheaf_costs("free")),
        ("checker_overhead", "checker overhead (on/off time)", "x", "<=", 1.5, checkers),
        ("scaling_2cpu", "2 vs 1 CPU, per-CPU-local (none)", "x", ">=", 1.9, scaling),
        ("deterministic_vs_free", "--sched random/free-running ops/s", "x", ">=", 0.7,
         sched("random")),
        ("free_vs_none", "--sched free/none (one core) ops/s", "x", ">=", 0.5, sched("free")),
        ("access_points_vs_none", "shared accesses: random/none ops/s", "x", ">=", 0.3, access),
        ("boot_1g_ms", "boot 1 GiB (page data)", "ms", "<=", 1000, boot("1G", True, "time")),
        ("bytes_per_page_1g", "  metadata bytes/page, 1 GiB", "B", "<=", 64, boot("1G", True, "bytes")),
        ("boot_4g_ms", "boot 4 GiB (metadata only)", "ms", "<=", 2000, boot("4G", False, "time")),
        ("bytes_per_page_4g", "  metadata bytes/page, 4 GiB", "B", "<=", 64,
         boot("4G", False, "bytes")),
    ]


ROW_KEYS = tuple(m[0] for m in measurements(Sizes.quick()))    # the table's keys, in order


def run_all(sizes, on_row=None):
    """Take every measurement; a failed one becomes an ERROR row, the rest still run."""
    rows = []
    for key, label, unit, op, target, fn in measurements(sizes):
        try:
            value, detail = fn()
            row = Row(key, label, float(value), unit, op, target, detail)
        except (BenchError, km.ModelError) as exc:
            row = Row(key, label, None, unit, op, target, error=str(exc))
        rows.append(row)
        if on_row:
            on_row(row)
    return rows


def format_value(row):
    if row.value is None:
        return "-"
    if row.unit == "x":
        return f"{row.value:.2f}x"
    if row.unit == "pairs/s":
        return f"{row.value:,.0f}"
    return f"{row.value:,.1f} {row.unit}"


def format_target(row):
    if row.op == "ref":
        return "reference"
    t = f"{row.target:g}x" if row.unit == "x" else (
        f"{row.target:,.0f}" if row.unit == "pairs/s" else f"{row.target:g} {row.unit}")
    return f"{row.op} {t}"


def format_row(row):
    note = row.error if row.error else row.detail
    return f"{row.label:<38s} {format_value(row):>14s}  {format_target(row):>11s}  " \
           f"{row.status:<5s}  {note}"


def header():
    return f"{'measurement':<38s} {'value':>14s}  {'target':>11s}  {'':<5s}  detail"


# --- races: `mmstress bench races` only --------------------------------------------------------
# Every order-dependent race of the catalogue (scenarios/bugs/races.txt) under each
# exploring strategy for N seeds, one execution per seed (PCT's k measured from the
# executions before, as `mmstress explore` does): how many seeds found the race, and
# the seconds spent per detection.  Each race's _ok twin runs the same way and must
# stay clean under every strategy.

RACE_STRATEGIES = ("random", "pct", "pos")
RACE_OPS = 3                  # iterations per CPU: a small scope, where a strategy's odds per run
                              # show (a longer run gives random walk more chances per run than PCT's
                              # d-1 change points: compare with --race-ops 20)


def race_catalogue(path=None):
    """[(name, kind or None)] from scenarios/bugs/races.txt (``NAME [KIND]`` a line)."""
    from harness import scenario
    path = path or os.path.join(scenario.BUGS_DIR, "races.txt")
    out = []
    with open(path) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if words:
                out.append((words[0], words[1] if len(words) > 1 else None))
    return out


@dataclasses.dataclass
class RaceCell:
    """One race (or twin) under one strategy: ``hits`` of ``runs`` seeds, in ``seconds``."""
    race: str
    strategy: str
    runs: int
    hits: int
    seconds: float
    twin: bool = False
    k: int | None = None

    @property
    def per_detection(self):
        return self.seconds / self.hits if self.hits else None

    def as_dict(self):
        return dict(dataclasses.asdict(self), per_detection=self.per_detection)


def _race_scenario(name, ops):
    from harness import scenario
    sc = scenario.resolve("bugs/" + name)
    return dataclasses.replace(sc, ops=ops, duration=None)


def race_cell(name, strategy, seeds, ops, kind=None, twin=False, seed=1):
    """Run ``seeds`` executions of bugs/NAME under ``strategy``; a hit is a violation of
    ``kind`` (default: the scenario's expected kinds; ``any``: any); for a twin, any
    violation or failure."""
    from harness.tools import explore
    sc = _race_scenario(name, ops)
    ex = explore.make_explorer(strategy, sc, seed)
    want = {kind} if kind else set(sc.expect)
    hits = 0
    t0 = time.perf_counter()
    for _ in range(seeds):
        execution = ex.new_execution()
        res = explore.run_execution(sc, execution)
        if res.interrupted:
            raise Interrupted(res.interrupted)
        ex.record(execution, res)
        kinds = {v["kind"] for v in res.violations}
        if twin or kind == "any":
            hits += bool(kinds or res.exit_code != 0)
        else:
            hits += bool(kinds & want)
    return RaceCell(name, strategy, seeds, hits, time.perf_counter() - t0, twin,
                    getattr(ex, "measured", None))


def race_bench(seeds=10, ops=RACE_OPS, strategies=RACE_STRATEGIES, on_cell=None, catalogue=None):
    """Every race and its twin under every strategy; returns the cells."""
    from harness import scenario
    cells = []
    for name, kind in catalogue or race_catalogue():
        twin = name + "_ok"
        has_twin = os.path.exists(os.path.join(scenario.BUGS_DIR, twin + ".toml"))
        for strategy in strategies:
            for cell in ([race_cell(name, strategy, seeds, ops, kind)]
                         + ([race_cell(twin, strategy, seeds, ops, twin=True)] if has_twin else [])):
                cells.append(cell)
                if on_cell:
                    on_cell(cell)
    return cells


def race_totals(cells, strategies=RACE_STRATEGIES):
    """Per strategy: (detections, runs, seconds, false positives on the twins)."""
    out = {}
    for s in strategies:
        races = [c for c in cells if c.strategy == s and not c.twin]
        twins = [c for c in cells if c.strategy == s and c.twin]
        out[s] = {"detections": sum(c.hits for c in races), "runs": sum(c.runs for c in races),
                  "seconds": sum(c.seconds for c in races),
                  "twin_runs": sum(c.runs for c in twins),
                  "false_positives": sum(c.hits for c in twins)}
    return out


def format_race_cell(c):
    per = f"{c.per_detection:.2f} s" if c.per_detection is not None else "-"
    what = f"{c.race} (twin)" if c.twin else c.race
    k = f"  k={c.k}" if c.k else ""
    if c.twin:
        return f"{what:<32s} {c.strategy:<7s} {c.hits:>3d}/{c.runs:<3d} violations (must be 0)  " \
               f"{c.seconds:6.1f} s{k}"
    return f"{what:<32s} {c.strategy:<7s} {c.hits:>3d}/{c.runs:<3d} found  {per:>8s}/detection  " \
           f"{c.seconds:6.1f} s{k}"


# --- --compare: this run against a saved one -----------------------------------------------------


def compare(rows, old_doc):
    """[(label, old value, new value, new/old, verdict)] for the rows both runs have.
    ``verdict``: "better"/"worse" by the row's direction (a rate up, a cost down), or
    "" within 5% (one run's noise on a quiet machine)."""
    old = {r.get("key"): r for r in old_doc.get("rows", []) if isinstance(r, dict)}
    out = []
    for row in rows:
        o = old.get(row.key)
        if o is None or row.value is None or not isinstance(o.get("value"), (int, float)) \
                or not o["value"]:
            continue
        ratio = row.value / o["value"]
        higher_better = row.op in (">=", "ref")
        verdict = ""
        if abs(ratio - 1) > 0.05:
            verdict = "better" if (ratio > 1) == higher_better else "worse"
        out.append((row.label.strip(), o["value"], row.value, ratio, verdict))
    return out


def format_compare(lines):
    head = f"{'measurement':<38s} {'before':>12s} {'after':>12s}  {'after/before':>12s}"
    body = [f"{label:<38s} {a:>12,.2f} {b:>12,.2f}  {r:>11.2f}x  {v}" for label, a, b, r, v in lines]
    return "\n".join([head] + body)
