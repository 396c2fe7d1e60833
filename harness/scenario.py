"""Scenarios: TOML files that say what the CPUs do, validated key by key.

Format (every key optional unless marked; unknown keys are errors)::

    name = "larson"              # default: the file name
    description = "one line"     # shown by `mmstress list`
    cpus = 2                     # 1..64
    duration = "3s"              # "500ms", "10s", "2m" or seconds; or
    ops = 20000                  # process-context iterations per CPU (not both)
    seed = 1                     # default: random, printed at the start
    workload = "scenarios.workloads.larson"   # a module, or op mixes below

    [memory]     arch = "x86_64" | "x86_32", page_size = 4096 | 8192,
                 size = "64M", page_data = true
    [allocator]  slab = "slub" | "slab"      # needed by kmalloc/kmem_cache/vmalloc ops
                                             # (the names of kernel_model.slab_h.ALLOCATORS)
    [interrupts] rate = 1000                 # hardirqs per second per CPU (0: none)
                 jitter = 0.5                # +- fraction of the period, seeded
                 mask = "lazy" | "sigmask"   # see harness/irq.py
                 softirq = 1.0               # op mixes: P(a hardirq raises the softirq)
                 tasklet = 1.0               # op mixes: P(a hardirq schedules the tasklet)
    [watchdog]   thresh = "5s"               # soft-lockup threshold
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
                  semantics and defaults in harness/faults.py)

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
allowed -- exit 2, never a traceback.
"""

import importlib
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field

import kernel_model as km
from kernel_model import MemoryLayout, ModelError
from kernel_model import planted as _planted, slab_h

from harness.runtime import bootargs as _bootargs, faults as _faults
from harness.runtime import hooks, opmix
from .checkers.kinds import KINDS
from harness.runtime.counters import CONTEXTS

SCENARIO_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "scenarios")
WORKLOAD_FUNCTIONS = ("setup", "process", "hardirq", "softirq", "tasklet", "teardown")
DEFAULT_DURATION = 3.0
MAX_CPUS = 64


class ScenarioError(Exception):
    """A scenario the harness cannot run; the message says where and what is allowed.

    Common causes: a misspelt key (``durration``), a string where a number
    belongs (``cpus = "2"``), an impossible value (``cpus = 0``,
    ``free = 1.5``), a GFP flag name that does not exist, a workload module
    that does not import.
    """


@dataclass
class MixConfig:
    specs: list
    max_held: int
    free: float
    remote_free: float


@dataclass
class Scenario:
    name: str
    source: str
    description: str = ""
    cpus: int = 2
    duration: float | None = DEFAULT_DURATION
    ops: int | None = None
    seed: int | None = None
    arch: str = "x86_64"
    page_size: int = 4096
    memory: str = "64M"
    page_data: bool = True
    slab: str | None = None
    irq_rate: float = 1000.0
    irq_jitter: float = 0.5
    irq_mask: str = "lazy"
    softirq_p: float = 1.0
    tasklet_p: float = 1.0
    watchdog: float = 5.0
    workload: str | None = None
    mixes: dict = field(default_factory=dict)       # context name -> MixConfig
    caches: list = field(default_factory=list)      # [(name, size)] for kmem_cache_alloc ops
    checkers: list = field(default_factory=list)
    expect: list = field(default_factory=list)      # kinds a planted-bug scenario must report
    planted: list = field(default_factory=list)     # kernel_model.planted switches
    fault: object = None                            # harness.runtime.faults.FaultConfig or None
    fault: _faults.FaultConfig | None = None          # the [fault] section
    debug: object = None                            # harness.runtime.bootargs.BootArgs ([debug])

    def layout(self):
        return MemoryLayout(self.arch, page_size=self.page_size, total=self.memory)

    def limit_text(self):
        return f"--ops {self.ops}" if self.ops else f"--duration {format_duration(self.duration)}"


# --- small parsers ------------------------------------------------------------------------
def parse_duration(value):
    """"10s", "500ms", "2m", "1.5s" or a number of seconds -> seconds (float > 0)."""
    if isinstance(value, bool):
        raise ValueError("a duration like 10s, 500ms or 2m")
    if isinstance(value, (int, float)):
        secs = float(value)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", str(value))
        if not m:
            raise ValueError("a duration like 10s, 500ms or 2m")
        secs = float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    if not secs > 0:
        raise ValueError("a duration greater than zero")
    return secs


def format_duration(secs):
    return f"{secs * 1000:g}ms" if secs < 1 else f"{secs:g}s"


def _range(value, what):
    """64, "8..4096" or [8, 4096] -> (lo, hi)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?", value)
        if m:
            lo = int(m.group(1))
            return lo, int(m.group(2)) if m.group(2) else lo
    if isinstance(value, list) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return value[0], value[1]
    raise ValueError(f"{what}: an integer, \"LO..HI\" or [LO, HI]")


# --- finding the line of a key ---------------------------------------------------------------
_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")


def line_of(text, path):
    """Best-effort 1-based line of ``path`` (("process", "ops", 1, "size")) in TOML source."""
    lines = text.splitlines()
    headers = [(i, m.group(1).replace(" ", "").replace('"', ""))
               for i, ln in enumerate(lines) if (m := _HEADER.match(ln))]
    strs = []
    for p in path:
        if not isinstance(p, str):
            break
        strs.append(p)
    start, end, rest = 0, len(lines), list(path)
    for n in range(len(strs), 0, -1):
        name = ".".join(strs[:n])
        hit = [i for i, h in headers if h == name]
        if hit:
            start = hit[0]
            later = [i for i, _ in headers if i > start]
            end = later[0] if later else len(lines)
            rest = list(path[n:])
            if not rest:
                return start + 1
            break
    else:
        # Top-level key: search before the first header.
        end = headers[0][0] if headers else len(lines)
    pos = start
    for p in rest:
        if isinstance(p, int):
            seen = -1
            for i in range(pos, end):
                seen += lines[i].count("{")
                if seen >= p:
                    pos = i
                    break
            continue
        pat = re.compile(rf"(^|[\s{{,]){re.escape(p)}\s*=")
        for i in range(pos, end):
            if pat.search(lines[i]):
                pos = i
                break
    return pos + 1


# --- validation ---------------------------------------------------------------------------------
class _V:
    """Validation helpers bound to one file."""

    def __init__(self, source, text):
        self.source, self.text = source, text

    def fail(self, path, problem):
        key = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
        line = line_of(self.text, path) if self.text else 0
        where = f"{self.source}:{line}" if line else self.source
        raise ScenarioError(f"{where}: {key}: {problem}")

    def keys(self, table, path, allowed):
        for key in table:
            if key not in allowed:
                self.fail(path + (key,), f"unknown key; allowed here: {', '.join(sorted(allowed))}")

    def typed(self, table, path, key, types, what, default=None):
        if key not in table:
            return default
        v = table[key]
        if isinstance(v, bool) and bool not in types or not isinstance(v, types):
            self.fail(path + (key,), f"{what} expected, got {type(v).__name__} {v!r}")
        return v

    def number(self, table, path, key, lo, hi, default, integer=False, what=None):
        types = (int,) if integer else (int, float)
        kind = "an integer" if integer else "a number"
        v = self.typed(table, path, key, types, what or f"{kind} from {lo} to {hi}", default)
        if v is default:
            return v
        if not lo <= v <= hi:
            self.fail(path + (key,), f"{v!r} is out of range; allowed: {kind} from {lo} to {hi}")
        return v

    def choice(self, table, path, key, choices, default):
        v = self.typed(table, path, key, (str,), f"one of {', '.join(map(str, choices))}", default)
        if v is not default and v not in choices:
            self.fail(path + (key,), f"{v!r} is not allowed; allowed: {', '.join(map(str, choices))}")
        return v

    def duration(self, table, path, key, default):
        if key not in table:
            return default
        try:
            return parse_duration(table[key])
        except ValueError as exc:
            self.fail(path + (key,), f"{table[key]!r} is not allowed; allowed: {exc}")


def load(path):
    """Read and validate a scenario file."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    name = os.path.splitext(os.path.basename(path))[0]
    return parse(raw.decode("utf-8", "replace"), path, name)


def parse(text, source, default_name):
    """Validate TOML ``text``; ``source`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    v = _V(source, text)
    top = ("name", "description", "cpus", "duration", "ops", "seed", "workload", "memory",
           "allocator", "interrupts", "watchdog", "checkers", "expect", "model", "fault",
           "debug") + CONTEXTS
    v.keys(data, (), top)
    sc = Scenario(name=v.typed(data, (), "name", (str,), "a string", default_name), source=source)
    sc.description = v.typed(data, (), "description", (str,), "a string", "")
    sc.cpus = v.number(data, (), "cpus", 1, MAX_CPUS, 2, integer=True)
    if "duration" in data and "ops" in data:
        v.fail(("ops",), "give either duration or ops, not both")
    sc.duration = v.duration(data, (), "duration", DEFAULT_DURATION)
    if "ops" in data:
        sc.ops = v.number(data, (), "ops", 1, 10**12, None, integer=True)
        sc.duration = None
    sc.seed = v.number(data, (), "seed", 0, 2**63 - 1, None, integer=True)

    mem = v.typed(data, (), "memory", (dict,), "a table", {})
    v.keys(mem, ("memory",), ("arch", "page_size", "size", "page_data"))
    sc.arch = v.choice(mem, ("memory",), "arch", ("x86_64", "x86_32"), "x86_64")
    ps = v.typed(mem, ("memory",), "page_size", (int,), "4096 or 8192", 4096)
    if ps not in (4096, 8192):
        v.fail(("memory", "page_size"), f"{ps} is not allowed; allowed: 4096 or 8192")
    sc.page_size = ps
    size = v.typed(mem, ("memory",), "size", (str, int), "a size like \"64M\"", "64M")
    sc.page_data = v.typed(mem, ("memory",), "page_data", (bool,), "true or false", True)
    try:
        layout = MemoryLayout(sc.arch, page_size=ps, total=size)
        sc.memory = str(size)
        if layout.total < 16 << 20:
            raise ModelError("at least 16M (the DMA zone alone is 16M)")
        if layout.total > 4 << 30:
            raise ModelError("at most 4G")
    except ModelError as exc:
        v.fail(("memory", "size"), f"{size!r} is not allowed: {exc}")

    alloc = v.typed(data, (), "allocator", (dict,), "a table", {})
    v.keys(alloc, ("allocator",), ("slab",))
    sc.slab = v.choice(alloc, ("allocator",), "slab", tuple(slab_h.ALLOCATORS), None)

    irq = v.typed(data, (), "interrupts", (dict,), "a table", {})
    v.keys(irq, ("interrupts",), ("rate", "jitter", "mask", "softirq", "tasklet"))
    sc.irq_rate = float(v.number(irq, ("interrupts",), "rate", 0, 20000, 1000.0))
    sc.irq_jitter = float(v.number(irq, ("interrupts",), "jitter", 0, 1, 0.5))
    sc.irq_mask = v.choice(irq, ("interrupts",), "mask", ("lazy", "sigmask"), "lazy")
    sc.softirq_p = float(v.number(irq, ("interrupts",), "softirq", 0, 1, 1.0))
    sc.tasklet_p = float(v.number(irq, ("interrupts",), "tasklet", 0, 1, 1.0))

    wd = v.typed(data, (), "watchdog", (dict,), "a table", {})
    v.keys(wd, ("watchdog",), ("thresh",))
    sc.watchdog = v.duration(wd, ("watchdog",), "thresh", 5.0)

    checkers = v.typed(data, (), "checkers", (list, str), "a list of checker names or \"all\"", "all")
    if isinstance(checkers, str):
        if checkers != "all":
            v.fail(("checkers",), f"{checkers!r} is not allowed; allowed: \"all\" or a list of "
                                  f"{', '.join(sorted(hooks.CHECKERS))}")
        checkers = list(hooks.CHECKERS)
    for i, c in enumerate(checkers):
        if not isinstance(c, str) or c not in hooks.CHECKERS:
            avail = ", ".join(sorted(hooks.CHECKERS)) or "none yet"
            v.fail(("checkers",), f"{c!r} is not a checker; available: {avail}")
    sc.fault = _fault(v, data.get("fault")) if "fault" in data else None
    sc.debug = _bootargs.parse(v, data["debug"]) if "debug" in data else None
    sc.checkers = hooks.CheckerNames(checkers, faults=sc.fault, debug=sc.debug)

    expect = v.typed(data, (), "expect", (list,), "a list of violation kinds", [])
    for c in expect:
        if not isinstance(c, str) or c not in KINDS:
            v.fail(("expect",), f"{c!r} is not a violation kind; see `mmstress explain` for the list")
    sc.expect = list(expect)

    model = v.typed(data, (), "model", (dict,), "a table", {})
    v.keys(model, ("model",), ("planted",))
    planted_names = v.typed(model, ("model",), "planted", (list,), "a list of planted-bug names", [])
    for c in planted_names:
        if not isinstance(c, str) or c not in _planted.KNOWN:
            v.fail(("model", "planted"), f"{c!r} is not a planted bug; allowed: "
                                         f"{', '.join(sorted(_planted.KNOWN))}")
    sc.planted = list(planted_names)

    sc.workload = v.typed(data, (), "workload", (str,), "a module path like scenarios.workloads.larson")
    mixes = [c for c in CONTEXTS if c in data]
    if sc.workload and mixes:
        v.fail((mixes[0],), "give either workload or op mixes ([process], [hardirq], ...), not both")
    if sc.workload:
        _check_workload(v, sc.workload)
    elif not mixes:
        v.fail(("process",), "nothing to run: give workload = \"module\" or at least a [process] op mix")
    for ctx in mixes:
        sc.mixes[ctx] = _mix(v, sc, data[ctx], ctx)
    needs_slab = any(s.op in opmix.SLAB_OPS for m in sc.mixes.values() for s in m.specs)
    if needs_slab and sc.slab is None:
        sc.slab = "slub"
    if sc.slab and not hasattr(km, "kmalloc"):
        v.fail(("allocator", "slab") if "slab" in alloc else _first_slab_op(sc),
               "this model has no slab allocator yet: only page ops (alloc_pages, "
               "__get_free_pages, get_zeroed_page) can run")
    return sc


_ATTR_KEYS = {"probability": (0, 100), "interval": (1, 2**31 - 1), "times": (-1, 2**31 - 1),
              "space": (0, 2**31 - 1), "verbose": (0, 2)}
_FILTERS = {"failslab": {"ignore-gfp-wait": bool, "cache-filter": bool, "caches": list},
            "fail_page_alloc": {"ignore-gfp-wait": bool, "ignore-gfp-highmem": bool,
                                "min-order": int}}


def _fault(v, table):
    """The [fault] section -> faults.FaultConfig (kernel debugfs names; "_" or "-")."""
    path = ("fault",)
    if not isinstance(table, dict):
        v.fail(path, f"a table expected, got {type(table).__name__}")
    cfg = _faults.FaultConfig()
    for raw in table:
        if raw not in _FILTERS and raw not in ("fail-nth", "fail_nth"):
            v.fail(path + (raw,), "unknown key; allowed here: fail-nth, fail_page_alloc, failslab")
        if raw in ("fail-nth", "fail_nth"):
            cfg.fail_nth = v.number(table, path, raw, 0, 2**31 - 1, 0, integer=True)
    for name in _FILTERS:
        if name in table:
            setattr(cfg, name, _fault_attr(v, table[name], path + (name,), name))
    return cfg


def _fault_attr(v, table, path, name):
    if not isinstance(table, dict):
        v.fail(path, f"a table expected, got {type(table).__name__}")
    attr = _faults.FaultAttr(name)
    allowed = dict.fromkeys(_ATTR_KEYS, int) | _FILTERS[name]
    seen = {}
    for raw in table:
        key = raw.replace("_", "-")
        if key not in allowed:
            v.fail(path + (raw,), f"unknown key; allowed here: {', '.join(sorted(allowed))}")
        if key in seen:
            v.fail(path + (raw,), f"given twice (as {seen[key]!r} and {raw!r})")
        seen[key] = raw
        if key in _ATTR_KEYS:
            lo, hi = _ATTR_KEYS[key]
            val = v.number(table, path, raw, lo, hi, None, integer=True)
        elif key == "min-order":
            val = v.number(table, path, raw, 0, _faults.MAX_PAGE_ORDER, None, integer=True)
        elif key == "caches":
            val = v.typed(table, path, raw, (list,), "a list of cache names", None)
            if not all(isinstance(c, str) and c for c in val):
                v.fail(path + (raw,), "a list of cache names (strings) expected")
            val = tuple(val)
        else:
            val = v.typed(table, path, raw, (bool,), "true or false", None)
        setattr(attr, key.replace("-", "_"), val)
    return attr


def _first_slab_op(sc):
    for ctx, m in sc.mixes.items():
        for i, s in enumerate(m.specs):
            if s.op in opmix.SLAB_OPS:
                return (ctx, "ops", i, "op")
    return ("allocator",)


def _mix(v, sc, table, ctx):
    path = (ctx,)
    if not isinstance(table, dict):
        v.fail(path, f"a table expected, got {type(table).__name__}")
    v.keys(table, path, ("ops", "max_held", "free", "remote_free"))
    ops = v.typed(table, path, "ops", (list,), "a list of op tables", None)
    if not ops:
        v.fail(path + ("ops",), "at least one op is required, e.g. ops = [{ op = \"alloc_pages\" }]")
    specs = []
    default_gfp = "GFP_KERNEL" if ctx == "process" else "GFP_ATOMIC"
    for i, entry in enumerate(ops):
        p = path + ("ops", i)
        if not isinstance(entry, dict):
            v.fail(p, f"an op table like {{ op = \"kmalloc\", size = 64 }} expected, got {entry!r}")
        v.keys(entry, p, ("op", "weight", "gfp", "size", "order", "dist", "cache"))
        op = v.typed(entry, p, "op", (str,), "an op name", None)
        op = opmix.ALIASES.get(op, op)
        if op not in opmix.OPS:
            v.fail(p + ("op",), f"{op!r} is not an op; allowed: {', '.join(opmix.OPS)}")
        _kind, sized, _ = opmix.OPS[op]
        weight = v.number(entry, p, "weight", 1e-9, 1e9, 1.0)
        gfp_text = v.typed(entry, p, "gfp", (str,), "a GFP mask like \"GFP_ATOMIC|__GFP_ZERO\"",
                           default_gfp)
        try:
            gfp = km.parse_gfp(gfp_text)
        except ModelError as exc:
            v.fail(p + ("gfp",), str(exc))
        dist = v.choice(entry, p, "dist", ("log", "uniform"), "log")
        bad = "order" if sized else "size"
        if bad in entry:
            v.fail(p + (bad,), f"{op} takes {'size' if sized else 'order'}, not {bad}")
        key = "size" if sized else "order"
        lo_max, hi_max = (1, 1 << 24) if sized else (0, 10)
        default = 64 if sized else 0
        if op == "get_zeroed_page" and key in entry:
            v.fail(p + (key,), "get_zeroed_page takes no order (it is always one page)")
        try:
            lo, hi = _range(entry.get(key, default), key)
        except ValueError as exc:
            v.fail(p + (key,), f"{entry[key]!r} is not allowed; allowed: {exc}")
        if not (lo_max <= lo <= hi <= hi_max):
            v.fail(p + (key,), f"{entry[key]!r} is not allowed; allowed: "
                               f"{lo_max} <= LO <= HI <= {hi_max}")
        cache = None
        if "cache" in entry:
            if op != "kmem_cache_alloc":
                v.fail(p + ("cache",), "only kmem_cache_alloc takes a cache")
            cname = v.typed(entry, p, "cache", (str,), "a cache name")
            if lo != hi:
                v.fail(p + ("size",), "a cache has one object size: give an integer")
            cache = _cache_index(sc, cname, lo)
        elif op == "kmem_cache_alloc":
            if lo != hi:
                v.fail(p + ("size",), "a cache has one object size: give an integer")
            cache = _cache_index(sc, f"mmstress-{lo}", lo)
        specs.append(opmix.OpSpec(op, opmix.Dist(lo, hi, dist), gfp, weight, cache))
    return MixConfig(specs,
                     v.number(table, path, "max_held", 0, 100000, 64 if ctx == "process" else 8,
                              integer=True),
                     float(v.number(table, path, "free", 0, 1, 0.5)),
                     float(v.number(table, path, "remote_free", 0, 1, 0.0)))


def _cache_index(sc, name, size):
    if (name, size) not in sc.caches:
        sc.caches.append((name, size))
    return sc.caches.index((name, size))


def _check_workload(v, module):
    try:
        mod = import_workload(module)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's to fix
        v.fail(("workload",), f"cannot import {module!r}: {type(exc).__name__}: {exc}")
    found = [f for f in WORKLOAD_FUNCTIONS if callable(getattr(mod, f, None))]
    if not found:
        v.fail(("workload",), f"{module!r} defines none of {', '.join(WORKLOAD_FUNCTIONS)}")


def import_workload(module):
    root = os.path.dirname(SCENARIO_DIR)
    if root not in sys.path:
        sys.path.append(root)
    return importlib.import_module(module)


# --- the embedded default and lookup ------------------------------------------------------------
SMOKE = """\
name = "smoke"
description = "2 CPUs, all four contexts allocating and freeing, cross-CPU frees (the default)"
cpus = 2
duration = "3s"

[memory]
size = "64M"

[interrupts]
rate = 1000

[process]
max_held = 128
remote_free = 0.2
ops = [
  { op = "alloc_pages", order = "0..3", weight = 3 },
  { op = "__get_free_pages", order = "0..2", gfp = "GFP_KERNEL|__GFP_ZERO" },
  { op = "get_zeroed_page" },%(process_slab)s
]

[hardirq]
max_held = 8
ops = [ { op = "alloc_pages", order = "0..1", gfp = "GFP_ATOMIC" },%(irq_slab)s ]

[softirq]
max_held = 16
ops = [ { op = "__get_free_pages", order = 0, gfp = "GFP_ATOMIC" },%(irq_slab)s ]

[tasklet]
max_held = 16
ops = [ { op = "alloc_pages", order = "0..2", gfp = "GFP_NOWAIT|__GFP_NOWARN" } ]
"""


def smoke_text():
    """The embedded default; slab ops join in once the model has a slab allocator."""
    if hasattr(km, "kmalloc"):
        return SMOKE % {
            "process_slab": '\n  { op = "kmalloc", size = "8..4096", weight = 6 },'
                            '\n  { op = "kzalloc", size = "16..512", weight = 2 },'
                            '\n  { op = "kmem_cache_alloc", size = 192, cache = "smoke_obj", weight = 2 },'
                            '\n  { op = "vmalloc", size = "4096..65536", weight = 0.5 },',
            "irq_slab": ' { op = "kmalloc", size = "8..256", gfp = "GFP_ATOMIC", weight = 2 }'}
    return SMOKE % {"process_slab": "", "irq_slab": ""}


BUGS_DIR = os.path.join(SCENARIO_DIR, "bugs")
BUGS_PREFIX = "bugs/"


def resolve(arg):
    """A scenario argument (a path, or a name from `mmstress list`) -> Scenario.

    Names: ``smoke``, a library scenario (``scenarios/NAME.toml``) or a
    planted-bug scenario ``bugs/NAME`` (``scenarios/bugs/NAME.toml``).
    """
    if arg == "smoke":
        return parse(smoke_text(), "<embedded smoke>", "smoke")
    if arg.startswith(BUGS_PREFIX) and not arg.endswith(".toml"):
        path = os.path.join(BUGS_DIR, arg[len(BUGS_PREFIX):] + ".toml")
        if os.path.exists(path):
            return load(path)
        if not os.path.exists(arg):
            raise ScenarioError(f"no scenario called {arg!r}: the planted-bug scenarios are "
                                f"{', '.join(BUGS_PREFIX + n for n in _toml_names(BUGS_DIR)) or 'none'}")
    if os.path.sep in arg or arg.endswith(".toml") or os.path.exists(arg):
        if not os.path.exists(arg):
            raise ScenarioError(f"{arg}: no such scenario file")
        return load(arg)
    path = os.path.join(SCENARIO_DIR, arg + ".toml")
    if os.path.exists(path):
        return load(path)
    raise ScenarioError(f"no scenario called {arg!r}: give a .toml path or a name from "
                        f"`mmstress list` ({', '.join(n for n, _ in available())})")


def _toml_names(folder):
    try:
        return sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".toml"))
    except OSError:
        return []


def available():
    """[(name, description)]: the embedded default, every scenarios/*.toml, then the
    planted-bug scenarios of scenarios/bugs/ as ``bugs/NAME``."""
    out = [("smoke", parse(smoke_text(), "<embedded smoke>", "smoke").description)]
    for folder, prefix in ((SCENARIO_DIR, ""), (BUGS_DIR, BUGS_PREFIX)):
        for name in _toml_names(folder):
            try:
                desc = load(os.path.join(folder, name + ".toml")).description
            except ScenarioError as exc:
                desc = f"(invalid: {exc})"
            out.append((prefix + name, desc))
    return out
