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

from . import scenario as scenario_mod
from . import scheduling
from .scheduler.trace import Trace, TraceError


def _version():
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("mmstress")
    except PackageNotFoundError:
        return "0"


def scenario_text(sc):
    if sc.source == "<embedded smoke>":
        return scenario_mod.smoke_text()
    try:
        with open(sc.source, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def portable_source(sc):
    """How a trace names its scenario: a library name (``larson``, ``bugs/lock_abba``)
    when the file is in scenarios/, so the trace replays on another checkout;
    else the absolute path."""
    if sc.source == "<embedded smoke>":
        return sc.source
    path = os.path.abspath(sc.source)
    rel = os.path.relpath(path, scenario_mod.SCENARIO_DIR)
    if not rel.startswith("..") and rel.endswith(".toml"):
        return rel[:-5].replace(os.sep, "/")
    return path


def scenario_hash(sc):
    return hashlib.sha256(scenario_text(sc).encode()).hexdigest()[:16]


def violation_key(result):
    """The first violation's (kind, site, title): what minimize and replay --check compare."""
    for v in result.violations:
        return {"kind": v.get("kind"), "site": v.get("site"), "title": v.get("title")}
    for f in result.failures:
        return {"kind": f.get("kind"), "site": None, "title": f.get("message")}
    return None


def make_trace(result, steps):
    sc = result.scenario
    opts = result.sched_options
    header = {
        "mmstress": _version(), "scenario": sc.name,
        "source": portable_source(sc),
        "scenario_hash": scenario_hash(sc), "seed": result.seed, "strategy": opts.strategy,
        "options": opts.header(), "cpus": sc.cpus, "ops": sc.ops, "duration": sc.duration,
        "irq_mask": result.irq_mask, "hash": result.sched["hash"] if result.sched else None,
        "kinds": sorted({v["kind"] for v in result.violations}),
        "violation": violation_key(result), "exit_code": result.exit_code,
        "truncated": bool(result.sched and result.sched.get("truncated")),
        "violation_step": (result.sched or {}).get("violation_step"),
    }
    return Trace(header, steps)


def saver(path):
    """An ``on_finish`` for machine.run: save the trace to ``path`` (None: keep steps only)."""
    def on_finish(result):
        result.steps = result.engine.steps() if result.engine is not None else []
        if path and result.engine is not None:
            make_trace(result, result.steps).save(path)
            result.trace_path = path
    return on_finish


def default_path(sc, seed):
    return f"mmstress-{sc.name}-seed{seed}.mmtrace"


def load_for_replay(path):
    """(trace, scenario, SchedOptions) to replay ``path``; TraceError says why not."""
    trace = Trace.load(path)
    h = trace.header
    if h.get("truncated"):
        raise TraceError(f"{path} was truncated while recording (the run was longer than "
                         f"{scheduling.FREE_MAX_STEPS:,} steps): it cannot be replayed; record "
                         "a shorter run (--ops, --duration) or use --sched random/pct")
    source = h.get("source")
    try:
        sc = scenario_mod.resolve("smoke" if source == "<embedded smoke>" else source)
    except scenario_mod.ScenarioError as exc:
        raise TraceError(f"{path}: its scenario cannot be loaded: {exc}") from None
    now = scenario_hash(sc)
    if now != h.get("scenario_hash"):
        raise TraceError(f"{path} was recorded from another version of {source} (scenario "
                         f"hash {h.get('scenario_hash')}, the file now hashes to {now}): "
                         "replaying it would not be the same run; re-record it")
    sc = dataclasses.replace(sc, cpus=h["cpus"], ops=h.get("ops"), duration=h.get("duration"))
    opts = scheduling.SchedOptions(**{**h.get("options", {}), "strategy": "replay",
                                      "trace_steps": trace.steps})
    return trace, sc, opts
