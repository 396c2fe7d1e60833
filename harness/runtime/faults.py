"""Fault injection: failslab, fail_page_alloc and fail-nth, with the kernel's semantics.

The model asks two hooks of ``kernel_model.debug.DebugHooks`` whether an
allocation should fail -- ``should_failslab(cache_name, gfp)`` at the top of
slab_alloc_node, ``should_fail_alloc_page(gfp, order)`` at the top of
__alloc_pages -- as Linux does (mm/failslab.c, mm/fail_page_alloc.c).  This
module answers them from a scenario's ``[fault]`` section.  Read against
Linux 6.12 (lib/fault-inject.c, mm/failslab.c, mm/fail_page_alloc.c,
Documentation/fault-injection/fault-injection.rst).

Filters first, then ``should_fail_ex`` (lib/fault-inject.c)::

    failslab         the bootstrap cache "kmem_cache" never fails; __GFP_NOFAIL never;
                     ignore-gfp-wait (default Y) skips gfp with __GFP_DIRECT_RECLAIM;
                     cache-filter (default N) fails only caches listed in ``caches``
                     (the kernel's /sys/kernel/slab/<cache>/failslab = SLAB_FAILSLAB);
                     size = the cache's object_size
    fail_page_alloc  order < min-order (default 1) never fails; __GFP_NOFAIL never;
                     ignore-gfp-highmem (default Y) skips __GFP_HIGHMEM;
                     ignore-gfp-wait (default Y) skips __GFP_DIRECT_RECLAIM;
                     size = 1 << order pages
    should_fail_ex   1. fail-nth (task context only): count down; the call that
                        reaches 0 fails, whatever the attributes say
                     2. probability 0: never
                     3. times 0: never (-1: no limit)
                     4. space > size: space -= size, no failure
                     5. interval > 1: count++; fail only when count % interval == 0
                     6. probability <= random % 100: no failure
                     7. fail: print unless __GFP_NOWARN and verbose > 0; times-- unless -1

Defaults are FAULT_ATTR_INITIALIZER's: probability 0, interval 1, times 1,
space 0, verbose 2.

Where the model differs from one kernel, and why:

- A fault_attr's ``times``, ``space`` and interval ``count`` are kept per
  CPU (each CPU is a process with its own copy), not as one global atomic:
  a CPU's injected failures then depend on its own allocation sequence and
  its own random stream (``rng.stream(seed, cpu, "fault/<attr>")``), not on
  how the CPUs interleaved, so a run's faults are reproducible from its
  seed.  With one CPU the two agree; ``times = 1`` on 2 CPUs fails twice.
- ``fail-nth`` is per task in the kernel (/proc/self/task/<tid>/fail-nth).
  Here the task is the CPU's process context; a scenario's ``fail-nth = N``
  arms it before each process-context iteration (one workload call, the
  model of one system call), as syzkaller writes it before each call, so
  the N-th allocation of every iteration that passes the filters fails.
  Interrupt contexts never consume it (``in_task()`` in should_fail_ex).
- ``verbose`` messages go to the model's dmesg ring (``debug.printk``);
  ``verbose = 2`` adds the workload line that made the call (dump_stack).

Counting: every injected failure adds one to the per-CPU variable
``failslab_injected`` or ``fail_page_alloc_injected`` (rows of
harness/percpu.py, written straight to this CPU's slot with interrupts off),
so the run's report shows them in its ``percpu`` sums.
"""

from dataclasses import dataclass, field

from kernel_model import context, debug
from kernel_model import gfp as _gfp

from harness import rng as _rng

# Inside a class body Python mangles "__GFP_*": module-level names without the underscores.
GFP_DIRECT_RECLAIM, GFP_HIGHMEM = _gfp.__GFP_DIRECT_RECLAIM, _gfp.__GFP_HIGHMEM
GFP_NOFAIL, GFP_NOWARN = _gfp.__GFP_NOFAIL, _gfp.__GFP_NOWARN

FAULT_NOWARN = 1
BOOTSTRAP_CACHE = "kmem_cache"          # mm/failslab.c: no injection for the cache of caches
COUNTERS = {"failslab": "failslab_injected", "fail_page_alloc": "fail_page_alloc_injected"}
MAX_PAGE_ORDER = 10


@dataclass
class FaultAttr:
    """struct fault_attr (include/linux/fault-inject.h) plus its owner's filters."""

    name: str
    probability: int = 0            # percent
    interval: int = 1
    times: int = 1                  # -1: no limit
    space: int = 0
    verbose: int = 2
    ignore_gfp_wait: bool = True
    ignore_gfp_highmem: bool = True  # fail_page_alloc only
    min_order: int = 1               # fail_page_alloc only
    cache_filter: bool = False       # failslab only
    caches: tuple = ()               # failslab only: caches with SLAB_FAILSLAB
    count: int = 0                   # the interval counter

    def copy(self):
        return FaultAttr(**{k: getattr(self, k) for k in self.__dataclass_fields__})


@dataclass
class FaultConfig:
    """A scenario's ``[fault]`` section, validated (harness/scenario/faults.py)."""

    failslab: FaultAttr = field(default_factory=lambda: FaultAttr("failslab"))
    fail_page_alloc: FaultAttr = field(default_factory=lambda: FaultAttr("fail_page_alloc"))
    fail_nth: int = 0

    @property
    def active(self):
        return bool(self.fail_nth or self.failslab.probability or self.fail_page_alloc.probability)


class FaultInjector:
    """One CPU's fault injector: the two should_fail hooks, as an extra hook provider.

    ``harness.runtime.hooks.make_hooks`` puts it beside the checkers in the
    ``CheckerHooks`` fan-out, so it defines only the hooks it answers.
    ``count_slot(name)`` (optional) returns a function that adds to this CPU's
    slot of a per-CPU counter; without it the counts stay in ``self.injected``.
    """

    def __init__(self, config, cpu, seed, count_slot=None, cache_size=None):
        self.config = config
        self.cpu = cpu
        self.failslab = config.failslab.copy()
        self.fail_page_alloc = config.fail_page_alloc.copy()
        self.rng = {name: _rng.stream(seed, cpu, f"fault/{name}") for name in COUNTERS}
        self.fail_nth = config.fail_nth         # current->fail_nth of this CPU's task
        self.injected = {name: 0 for name in COUNTERS}
        self._add = {name: count_slot(c) if count_slot else None for name, c in COUNTERS.items()}
        self._cache_size = cache_size or _object_size
        self._sizes = {}

    # -- mm/failslab.c ---------------------------------------------------------------
    def should_failslab(self, cache_name, gfp):
        attr = self.failslab
        if cache_name == BOOTSTRAP_CACHE or gfp & GFP_NOFAIL:
            return False
        if attr.ignore_gfp_wait and gfp & GFP_DIRECT_RECLAIM:
            return False
        if attr.cache_filter and cache_name not in attr.caches:
            return False
        size = self._sizes.get(cache_name)
        if size is None and attr.space:
            size = self._sizes[cache_name] = self._cache_size(cache_name)
        return self.should_fail_ex("failslab", attr, size or 0,
                                   FAULT_NOWARN if gfp & GFP_NOWARN else 0)

    # -- mm/fail_page_alloc.c --------------------------------------------------------------
    def should_fail_alloc_page(self, gfp, order):
        attr = self.fail_page_alloc
        if order < attr.min_order:
            return False
        if gfp & GFP_NOFAIL:
            return False
        if attr.ignore_gfp_highmem and gfp & GFP_HIGHMEM:
            return False
        if attr.ignore_gfp_wait and gfp & GFP_DIRECT_RECLAIM:
            return False
        return self.should_fail_ex("fail_page_alloc", attr, 1 << order,
                                   FAULT_NOWARN if gfp & GFP_NOWARN else 0)

    # -- lib/fault-inject.c ------------------------------------------------------------------
    def should_fail_ex(self, name, attr, size, flags):
        if self.fail_nth and context.in_task():
            self.fail_nth -= 1
            if not self.fail_nth:
                return self._fail(name, attr, flags, nth=True)
            return False
        if attr.probability == 0:
            return False
        if attr.times == 0:
            return False
        if attr.space > size:
            attr.space -= size
            return False
        if attr.interval > 1:
            attr.count += 1
            if attr.count % attr.interval:
                return False
        if attr.probability <= self.rng[name].randrange(100):
            return False
        return self._fail(name, attr, flags)

    def _fail(self, name, attr, flags, nth=False):
        if not flags & FAULT_NOWARN and attr.verbose > 0:
            self._dump(name, attr, nth)
        if attr.times not in (-1, 0):
            attr.times -= 1
        self.injected[name] += 1
        add = self._add[name]
        if add is not None:
            add(1)
        return True

    def _dump(self, name, attr, nth):
        text = (f"FAULT_INJECTION: forcing a failure.\nname {name}, interval {attr.interval}, "
                f"probability {attr.probability}, space {attr.space}, times {attr.times}"
                + (" (fail-nth)" if nth else ""))
        if attr.verbose > 1:
            from harness.checkers.base import workload_site
            text += f"\nCPU: {self.cpu} at {workload_site()}"
        debug.printk(text)

    # -- the task's fail-nth --------------------------------------------------------------------
    def context_exit(self):
        """A process-context iteration ended: re-arm the scenario's fail-nth."""
        if self.config.fail_nth and context.in_task():
            self.fail_nth = self.config.fail_nth

    def finish(self):
        pass


def _object_size(cache_name):
    from kernel_model import slab_common
    s = slab_common.find_cache(cache_name)
    return s.object_size if s is not None else 0


def percpu_counter(node, nr_cpus, cpu):
    """count_slot for FaultInjector: adds to this CPU's slot of a per-CPU variable.

    Registers the rows (harness/percpu.py) under its ``percpu_alloc`` lock at
    build time, before the hooks are installed; later adds touch only this
    CPU's own slot, with interrupts off so a hardirq's add is not lost.
    """
    from harness.runtime import percpu
    from harness.runtime.locks import _attach
    pool = node.locks
    lock_id = next((i for i in range(pool.next[0]) if pool.name_of(i) == "percpu_alloc"), None)
    if lock_id is None:
        return None
    vars_ = percpu.PerCpuVars.__new__(percpu.PerCpuVars)
    a = node.arena
    vars_.nr_cpus, vars_.names, vars_.nr, vars_.val = nr_cpus, a.v["percpu_name"], a.v["percpu_nr"], a.v["percpu_val"]
    vars_.lock, vars_.rows = _attach(pool, lock_id, "percpu_alloc"), {}
    val = vars_.val

    def count_slot(name):
        i = percpu.slot_index(vars_.row(name), cpu)

        def add(n):
            flags = context.local_irq_save()
            val[i] += n
            context.local_irq_restore(flags)
        return add
    return count_slot
