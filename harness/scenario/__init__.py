"""Scenarios: TOML files that say what the CPUs do, validated key by key.

The package, one job to a module (``from harness import scenario`` and the names
below keep working; import them from here):

    errors.py     ScenarioError
    spec.py       Scenario and MixConfig: what a validated scenario holds
    units.py      durations ("500ms", "2m") and ranges ("8..4096")
    lines.py      the line of a key in TOML text, for error messages
    validate.py   Validator: typed, ranged, enumerated keys of one file, failing with file:line
    parse.py      load/parse: the top-level schema, every key to a Scenario field
    faults.py     the [fault] section (failslab, fail_page_alloc, fail-nth)
    mixes.py      the [process]/[hardirq]/[softirq]/[tasklet] op mixes
    workload.py   workload modules: importing and checking them
    library.py    names -> files: smoke and scenarios/NAME.toml, bugs/NAME, paths; `mmstress list`
    files.py      reading input files: regular files only, bounded in size

Format (every key optional unless marked; unknown keys are errors)::

    name = "larson"              # default: the file name
    description = "one line"     # shown by `mmstress list`
    cpus = 2                     # 1..64
    duration = "3s"              # "500ms", "10s", "2m" or seconds (at most 24h); or
    ops = 20000                  # process-context iterations per CPU (not both; at most 10**9)
    seed = 1                     # default: random, printed at the start
    workload = "ring.py"         # a file next to this scenario, or a module
                                 # (drivers.ring, scenarios.workloads.larson); or op mixes

    [memory]     arch = "x86_64" | "x86_32", page_size = 4096 | 8192,
                 size = "64M", page_data = true
    [allocator]  slab = "slub" | "slab" | "sheaves" | "none"
                                             # default "slub" (the kernel's), "none" with
                                             # page_data = false; kmalloc/kmem_cache/vmalloc
                                             # need one (kernel_model.slab_h.ALLOCATORS)
    [interrupts] rate = 1000                 # hardirqs per second per CPU (0: none)
                 jitter = 0.5                # +- fraction of the period, seeded
                 mask = "lazy" | "sigmask"   # see harness/runtime/irq.py
                 softirq = 1.0               # op mixes: P(a hardirq raises the softirq)
                 tasklet = 1.0               # op mixes: P(a hardirq schedules the tasklet)
    [watchdog]   thresh = "5s"               # soft-lockup threshold
    [tlb]        entries = 64, large_entries = 32, large_page = "2M"   # per-CPU TLBs
                 (kernel_model/tlb.py; the table turns them on, enabled = false off;
                  defaults per [memory] arch)
    checkers = ["sleep", "lockdep"]          # default "all" (CONFIG_DEBUG_* on); [] = none
    expect = ["double-free"]                 # planted-bug scenarios: the kinds they must report
                                             # (kinds of harness.checkers.kinds; [] = clean)
    [model]      planted = ["no_zone_lock_in_free"]   # kernel_model.planted switches
    [debug]      slub_debug = "FZPU" | "-", kasan = true, kasan_fault = "report" | "panic",
                 kasan_multi_shot = true, quarantine = 0   # boot switches (harness/runtime/bootargs.py)
    [fault]      fail-nth = 0                # arm /proc/self/fail-nth before each process iteration
    [fault.failslab]          probability = 10, interval = 1, times = -1, space = 0,
                              verbose = 0, ignore-gfp-wait = false, cache-filter = false,
                              caches = ["task_struct"]       # SLAB_FAILSLAB caches
    [fault.fail_page_alloc]   probability = 5, interval = 1, times = -1, space = 0, verbose = 0,
                              ignore-gfp-wait = true, ignore-gfp-highmem = true, min-order = 1
                 (debugfs names, Documentation/fault-injection; "_" for "-" also accepted;
                  semantics and defaults in harness/runtime/faults.py)

    [process] / [hardirq] / [softirq] / [tasklet]     # op mixes, one per context
    ops = [ { op = "kmalloc", size = "8..4096", gfp = "GFP_KERNEL", weight = 3 },
            { op = "alloc_pages", order = "0..3" } ]
    max_held = 64        # objects held at most (then every step frees)
    free = 0.5           # P(a step frees) while below max_held
    remote_free = 0.0    # P(a free goes to another CPU's mailbox)

Op entry keys: ``op`` (required: kmalloc kzalloc kmem_cache_alloc alloc_pages
__get_free_pages get_zeroed_page vmalloc vzalloc), ``weight`` (> 0),
``gfp`` (default GFP_KERNEL in process context, GFP_ATOMIC elsewhere),
``size`` (bytes: 64, "8..4096" or [8, 4096]) or ``order`` (0..10 likewise),
``dist`` ("log" or "uniform", for ranges), ``cache`` (kmem_cache_alloc: the
cache's name; one cache per name and size, created before the CPUs start).

Errors are ``ScenarioError``: file, line, key, the problem and what is
allowed -- exit 2, never a traceback.  Only regular files of at most 1 MiB
are read, tables and arrays nest at most 16 deep.
"""

from harness.scenario.errors import ScenarioError
from harness.scenario.files import MAX_SCENARIO_BYTES
from harness.scenario.library import (BUGS_DIR, BUGS_PREFIX, SCENARIO_DIR, SMOKE_PATH, available,
                                      is_library_name, library_name, resolve, scenario_file)
from harness.scenario.lines import line_of
from harness.scenario.parse import load, parse, parse_toml
from harness.scenario.spec import DEFAULT_DURATION, MAX_CPUS, MAX_OPS, MixConfig, Scenario
from harness.scenario.units import MAX_DURATION, format_duration, parse_duration
from harness.scenario.workload import (WORKLOAD_FUNCTIONS, WorkloadLocation, WorkloadNotFound,
                                       import_workload, locate_workload)

__all__ = ["BUGS_DIR", "BUGS_PREFIX", "DEFAULT_DURATION", "MAX_CPUS", "MAX_DURATION", "MAX_OPS",
           "MAX_SCENARIO_BYTES", "SCENARIO_DIR", "SMOKE_PATH",
           "WORKLOAD_FUNCTIONS", "MixConfig", "Scenario", "ScenarioError", "available",
           "format_duration", "import_workload", "is_library_name", "library_name", "line_of",
           "load", "locate_workload", "parse", "parse_duration", "parse_toml", "resolve",
           "scenario_file", "WorkloadLocation", "WorkloadNotFound"]
