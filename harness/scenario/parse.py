"""Reading a scenario: TOML text -> a validated ``Scenario`` (the top-level schema, key by key).

The format is the package docstring (``harness/scenario/__init__.py``).
Sections with a job of their own are delegated: ``[fault]`` to faults.py, the
op mixes to mixes.py, ``workload`` to workload.py.  Unknown keys are errors.
"""

import os
import tomllib

from kernel_model import MemoryLayout, ModelError
from kernel_model import ConfigError, numa as _numa, planted as _planted, slab_h, tlb as _tlb
from kernel_model.layout import parse_size

from harness.checkers import LINTS
from harness.checkers.kinds import KINDS
from harness.runtime import bootargs as _bootargs, hooks, opmix
from harness.runtime.counters import CONTEXTS
from harness.scenario.errors import ScenarioError
from harness.scenario.faults import fault_section
from harness.scenario.files import MAX_SCENARIO_BYTES, InputFileError, read_input
from harness.scenario.mixes import mix_section
from harness.scenario.spec import DEFAULT_DURATION, MAX_CPUS, MAX_DEPTH, MAX_OPS, Scenario
from harness.scenario.validate import Validator
from harness.scenario.workload import check_workload


def load(path):
    """Read and validate a scenario file."""
    try:
        raw = read_input(path, MAX_SCENARIO_BYTES, "scenario file")
    except InputFileError as exc:
        raise ScenarioError(str(exc)) from None
    name = os.path.splitext(os.path.basename(path))[0]
    return parse(raw.decode("utf-8", "replace"), path, name)


def _file_of(source):
    """The scenario's file, when ``source`` names one (a workload is found next to it)."""
    return source if isinstance(source, str) and os.path.isfile(source) else None


def parse_toml(text, source):
    """The TOML tables of ``text``, nested at most MAX_DEPTH deep; ScenarioError if not TOML."""
    if len(text) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"{source}: larger than {MAX_SCENARIO_BYTES:,} characters: too "
                            "large for a scenario")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{source}: arrays or tables nested deeper than TOML can be read; "
                            f"allowed: at most {MAX_DEPTH} levels") from None
    todo = [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise ScenarioError(f"{source}: arrays or tables nested more than {MAX_DEPTH} "
                                "levels deep; a scenario needs three at most")
        children = value.values() if isinstance(value, dict) else value
        todo.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return data


def _numa_keys(v, mem, sc, layout):
    """[memory] nodes (a count or a list of node sizes), cpus_per_node, distance:
    checked by building the topology the machine will boot with."""
    path = ("memory",)
    nodes = v.typed(mem, path, "nodes", (int, list), "a node count or a list of node sizes", 1)
    if isinstance(nodes, list):
        sizes = []
        for i, size in enumerate(nodes):
            if isinstance(size, bool) or not isinstance(size, (int, str)):
                v.fail(path + ("nodes", i), f"a size like \"32M\" expected, got {size!r}")
            try:
                sizes.append(parse_size(size))
            except ModelError as exc:
                v.fail(path + ("nodes", i), f"{size!r} is not a size: {exc}")
        nodes = sizes
    cpus_per_node = v.typed(mem, path, "cpus_per_node", (list,), "a list of CPU counts per node")
    distance = v.typed(mem, path, "distance", (list,), "a matrix (a list of rows)")
    try:
        _numa.NumaTopology(layout.nr_pages, layout.page_size, sc.cpus, nodes, cpus_per_node,
                           distance)
    except ConfigError as exc:
        text = str(exc)
        key = next((k for k in ("cpus_per_node", "distance") if text.startswith(k)), "nodes")
        # "nodes = 9: must be ..." -> "memory.nodes: must be ..."; an indexed message
        # ("nodes[1] = ...", "distance[0][1] = ...") keeps its index
        strip = text.startswith(key) and not text.startswith(key + "[")
        v.fail(path + (key,), text.split(": ", 1)[-1] if strip else text)
    sc.nodes, sc.cpus_per_node, sc.distance = nodes, cpus_per_node, distance


def parse(text, source, default_name):
    """Validate TOML ``text``; ``source`` names it in errors."""
    data = parse_toml(text, source)
    v = Validator(source, text)
    top = ("name", "description", "cpus", "duration", "ops", "seed", "workload", "memory",
           "allocator", "interrupts", "watchdog", "checkers", "expect", "model", "fault",
           "debug", "tlb") + CONTEXTS
    v.keys(data, (), top)
    sc = Scenario(name=v.typed(data, (), "name", (str,), "a string", default_name), source=source)
    sc.description = v.typed(data, (), "description", (str,), "a string", "")
    sc.cpus = v.number(data, (), "cpus", 1, MAX_CPUS, 2, integer=True)
    if "duration" in data and "ops" in data:
        v.fail(("ops",), "give either duration or ops, not both")
    sc.duration = v.duration(data, (), "duration", DEFAULT_DURATION)
    if "ops" in data:
        sc.ops = v.number(data, (), "ops", 1, MAX_OPS, None, integer=True)
        sc.duration = None
    sc.seed = v.number(data, (), "seed", 0, 2**63 - 1, None, integer=True)

    mem = v.typed(data, (), "memory", (dict,), "a table", {})
    v.keys(mem, ("memory",), ("arch", "page_size", "size", "page_data", "nodes", "cpus_per_node",
                              "distance"))
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
    _numa_keys(v, mem, sc, layout)

    alloc = v.typed(data, (), "allocator", (dict,), "a table", {})
    v.keys(alloc, ("allocator",), ("slab",))
    sc.slab = _slab(v, alloc, sc.page_data)

    irq = v.typed(data, (), "interrupts", (dict,), "a table", {})
    v.keys(irq, ("interrupts",), ("rate", "jitter", "mask", "softirq", "tasklet"))
    sc.irq_rate = float(v.number(irq, ("interrupts",), "rate", 0, 20000, 1000.0))
    sc.irq_jitter = float(v.number(irq, ("interrupts",), "jitter", 0, 1, 0.5))
    sc.irq_mask = v.choice(irq, ("interrupts",), "mask", ("lazy", "sigmask"), "lazy")
    sc.softirq_p = float(v.number(irq, ("interrupts",), "softirq", 0, 1, 1.0))
    sc.tasklet_p = float(v.number(irq, ("interrupts",), "tasklet", 0, 1, 1.0))

    sc.tlb = tlb_section(v, sc, data["tlb"]) if "tlb" in data else None

    wd = v.typed(data, (), "watchdog", (dict,), "a table", {})
    v.keys(wd, ("watchdog",), ("thresh",))
    sc.watchdog = v.duration(wd, ("watchdog",), "thresh", 5.0)

    checkers = v.typed(data, (), "checkers", (list, str), "a list of checker names or \"all\"", "all")
    if isinstance(checkers, str):
        if checkers != "all":
            v.fail(("checkers",), f"{checkers!r} is not allowed; allowed: \"all\" or a list of "
                                  f"{', '.join(sorted(hooks.CHECKERS))}")
        checkers = [c for c in hooks.CHECKERS if c not in LINTS]     # a lint only by name
    for i, c in enumerate(checkers):
        if not isinstance(c, str) or c not in hooks.CHECKERS:
            avail = ", ".join(sorted(hooks.CHECKERS)) or "none yet"
            v.fail(("checkers",), f"{c!r} is not a checker; available: {avail}")
    sc.fault = fault_section(v, data.get("fault")) if "fault" in data else None
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

    sc.workload = v.typed(data, (), "workload", (str,),
                          "a file next to the scenario like \"ring.py\", or a module like drivers.ring")
    mixes = [c for c in CONTEXTS if c in data]
    if sc.workload and mixes:
        v.fail((mixes[0],), "give either workload or op mixes ([process], [hardirq], ...), not both")
    if sc.workload:
        sc.workload_file = check_workload(v, sc.workload, _file_of(source)).path
    elif not mixes:
        v.fail(("process",), "nothing to run: give workload = \"module\" or at least a [process] op mix")
    for ctx in mixes:
        sc.mixes[ctx] = mix_section(v, sc, data[ctx], ctx)
    if sc.slab is None:
        for ctx, mix in sc.mixes.items():
            for i, spec in enumerate(mix.specs):
                if spec.op in opmix.SLAB_OPS:
                    v.fail((ctx, "ops", i, "op"), f"{spec.op} needs a slab allocator, which this "
                                                  f"scenario turned off: {_slab_off_why(data)}")
    return sc


def tlb_section(v, sc, table):
    """[tlb]: per-CPU TLBs (kernel_model/tlb.py), the architecture's unless a key says
    otherwise; None when ``enabled = false``."""
    if not isinstance(table, dict):
        v.fail(("tlb",), "must be a table")
    v.keys(table, ("tlb",), ("enabled", "entries", "large_entries", "large_page"))
    if not v.typed(table, ("tlb",), "enabled", (bool,), "true or false", True):
        return None
    entries = v.number(table, ("tlb",), "entries", 1, _tlb.MAX_ENTRIES, None, integer=True)
    large = v.number(table, ("tlb",), "large_entries", 1, _tlb.MAX_ENTRIES, None, integer=True)
    page = v.typed(table, ("tlb",), "large_page", (str, int), "a size like \"2M\"", None)
    try:
        return _tlb.tlb_config(sc.arch, sc.page_size, entries, large, page)
    except ConfigError as exc:
        v.fail(("tlb", "large_page"), str(exc).split(": ", 1)[-1])


NO_SLAB = "none"


def _slab(v, alloc, page_data):
    """``[allocator] slab``: a name of slab_h.ALLOCATORS, or None for "none".  The default
    is the kernel's, the first of the registry ("slub"), except on a metadata-only
    arena (``[memory] page_data = false``), where slab objects cannot live."""
    names = tuple(slab_h.ALLOCATORS)
    default = names[0] if page_data else NO_SLAB
    slab = v.choice(alloc, ("allocator",), "slab", names + (NO_SLAB,), default)
    if slab != NO_SLAB and not page_data:
        v.fail(("allocator", "slab"), f"{slab!r} needs real page data (slab objects live in the "
                                      "pages): set [memory] page_data = true, or slab = \"none\"")
    return None if slab == NO_SLAB else slab


def _slab_off_why(data):
    """Which key turned the slab allocator off, as the TOML to change."""
    if data.get("allocator", {}).get("slab") == NO_SLAB:
        return f"set [allocator] slab = \"{next(iter(slab_h.ALLOCATORS))}\" (or drop the key)"
    return "set [memory] page_data = true (slab objects live in the pages)"
