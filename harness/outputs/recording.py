"""Trace files of real runs: what to store so ``mmstress replay`` can redo a run.

The step format is ``harness/scheduler/trace.py``; this module fills the
header from a finished run (scenario identity, seed, schedule, the effective
CPUs and limits, the violations found) and turns a loaded trace back into
the scenario, seed and schedule that replay it.  A trace refuses to replay
against a scenario file whose text changed (its sha256 is in the header),
and names the file.
"""

import dataclasses
import hashlib
import os

from harness import scenario as scenario_mod
from harness.scheduler import options as scheduling
from harness.scheduler.trace import Trace, TraceError


def _version():
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("mmstress")
    except PackageNotFoundError:
        return "0"


def scenario_text(sc):
    try:
        with open(sc.source, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def portable_source(sc):
    """How a trace names its scenario: a library name (``larson``, ``bugs/lock_abba``)
    when the file is in scenarios/, so the trace replays on another checkout;
    else the absolute path."""
    return scenario_mod.library_name(sc.source) or os.path.abspath(sc.source)


def scenario_hash(sc):
    return hashlib.sha256(scenario_text(sc).encode()).hexdigest()[:16]


def violation_kinds(result):
    """The sorted kinds a run reported: what a trace records and a replay must match."""
    return sorted({v["kind"] for v in result.violations})


def violation_key(result):
    """The first violation's (kind, site, title, record key): what minimize and replay --check
    compare."""
    for v in result.violations:
        return {"kind": v.get("kind"), "site": v.get("site"), "title": v.get("title"),
                "key": v.get("key")}
    for f in result.failures:
        return {"kind": f.get("kind"), "site": None, "title": f.get("message")}
    return None


def make_trace(result):
    """The trace of a finished scheduled run (its ``result.steps``)."""
    sc = result.scenario
    opts = result.sched_options
    header = {
        "mmstress": _version(), "scenario": sc.name,
        "source": portable_source(sc),
        "scenario_hash": scenario_hash(sc), "seed": result.seed, "strategy": opts.strategy,
        "options": opts.header(), "cpus": sc.cpus, "ops": sc.ops, "duration": sc.duration,
        "irq_mask": result.irq_mask, "hash": result.sched["hash"] if result.sched else None,
        "kinds": violation_kinds(result),
        "violation": violation_key(result), "exit_code": result.exit_code,
        "truncated": bool(result.sched and result.sched.get("truncated")),
        "violation_step": (result.sched or {}).get("violation_step"),
    }
    return Trace(header, result.steps)


def save(result, path):
    """Write a scheduled run's trace to ``path``; the report then names it."""
    make_trace(result).save(path)
    result.trace_path = path


def default_path(sc, seed):
    return f"mmstress-{sc.name}-seed{seed}.mmtrace"


def scenario_of(trace, where):
    """The scenario a trace was recorded from, refusing one whose text changed since."""
    h = trace.header
    source = h.get("source")
    try:
        sc = scenario_mod.resolve("smoke" if source == "<embedded smoke>" else source)  # old traces
    except scenario_mod.ScenarioError as exc:
        raise TraceError(f"{where}: its scenario cannot be loaded: {exc}") from None
    now = scenario_hash(sc)
    if now != h.get("scenario_hash"):
        raise TraceError(f"{where} was recorded from another version of {source} (scenario "
                         f"hash {h.get('scenario_hash')}, the file now hashes to {now}): "
                         "replaying it would not be the same run; re-record it")
    return sc


def load_for_replay(path):
    """(trace, scenario, SchedOptions) to replay ``path``; TraceError says why not."""
    trace = Trace.load(path)
    h = trace.header
    if h.get("truncated"):
        raise TraceError(f"{path} was truncated while recording (the run was longer than "
                         f"{scheduling.FREE_MAX_STEPS:,} steps): it cannot be replayed; record "
                         "a shorter run (--ops, --duration) or use --sched random/pct")
    sc = scenario_of(trace, path)
    sc = dataclasses.replace(sc, cpus=h["cpus"], ops=h.get("ops"), duration=h.get("duration"))
    opts = scheduling.SchedOptions(**{**h.get("options", {}), "strategy": "replay",
                                      "trace_steps": trace.steps})
    return trace, sc, opts


def replay(path, announce=None):
    """Redo the run recorded in ``path``: (trace, result); TraceError if it cannot be used.
    ``announce(trace)`` is called before the run; ``reproduced(trace, result)`` says
    whether the recording came out again."""
    from harness.supervisor import machine
    trace, sc, opts = load_for_replay(path)
    if announce is not None:
        announce(trace)
    h = trace.header
    result = machine.run(sc, h["seed"], irq_mask=h.get("irq_mask"), sched=opts)
    result.trace_path = path
    return trace, result


def reproduced(trace, result):
    """The same steps (trace hash) and the same violation kinds as recorded."""
    h = trace.header
    return ((result.sched or {}).get("hash") == h.get("hash")
            and violation_kinds(result) == h.get("kinds", []))
