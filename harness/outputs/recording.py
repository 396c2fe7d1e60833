"""Trace files of real runs: what to store so ``mmstress replay`` can redo a run.

The step format is ``harness/scheduler/trace.py``; this module fills the
header from a finished run (scenario identity, seed, schedule, the effective
CPUs and limits, the violations found) and turns a loaded trace back into
the scenario, seed and schedule that replay it.  The header carries the
scenario's text and the sha256 of each workload module the run imported; a
trace is replayed only after ``trust.vet_trace`` has checked, without
importing anything, that the scenario may run and that neither its text nor
its code changed since the recording (``BadTrace``, exit 2, says what did).
"""

import dataclasses
import hashlib
import os
import re
import shlex

from harness import scenario as scenario_mod
from harness.outputs import trust as _trust
from harness.scheduler import options as scheduling
from harness.scenario.files import is_inside, read_input
from harness.scheduler.trace import BadTrace, Trace, TraceError


def _version():
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("mmstress")
    except PackageNotFoundError:
        return "0"


def scenario_text(sc):
    """The scenario file's text as the parser and the trust check read it (no newline
    translation); "" if it cannot be read."""
    try:
        return read_input(sc.source, scenario_mod.MAX_SCENARIO_BYTES,
                          "scenario file").decode("utf-8", "replace")
    except (ValueError, OSError):
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


def trace_source(sc, trace_path):
    """How a trace saved at ``trace_path`` names its scenario: the library name; else the
    path relative to the trace's folder when the scenario is in it (a folder shared as
    a whole replays wherever it is unpacked); else the absolute path."""
    if scenario_mod.library_name(sc.source) or not trace_path:
        return portable_source(sc)
    folder = os.path.dirname(os.path.abspath(trace_path))
    if is_inside(sc.source, folder):
        return os.path.relpath(os.path.realpath(sc.source), os.path.realpath(folder))
    return portable_source(sc)


def make_trace(result, path=None):
    """The trace of a finished scheduled run (its ``result.steps``), to be saved at ``path``."""
    sc = result.scenario
    opts = result.sched_options
    text = scenario_text(sc)
    header = {
        "mmstress": _version(), "scenario": sc.name,
        "source": trace_source(sc, path),
        "scenario_hash": hashlib.sha256(text.encode()).hexdigest()[:16], "scenario_text": text,
        "workloads": _trust.workload_hashes(sc), "seed": result.seed, "strategy": opts.strategy,
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
    make_trace(result, path).save(path)
    result.trace_path = path


def replay_command(trace_path, sc):
    """``mmstress replay TRACE``, naming the scenario (``--scenario``) when the trust check
    would otherwise refuse it: a scenario outside the library with workload code, or not
    beside the trace.  The user's own run: they vouch for their own scenario."""
    cmd = ["mmstress", "replay", str(trace_path)]
    beside = is_inside(sc.source, os.path.dirname(os.path.abspath(str(trace_path))))
    if scenario_mod.library_name(sc.source) is None and (getattr(sc, "workload", None) or not beside):
        cmd += ["--scenario", os.path.abspath(sc.source)]
    return " ".join(shlex.quote(c) for c in cmd)


def file_safe(name):
    """``name`` (a scenario's, from its file) as part of a plain file name: no folder,
    no ``..``, nothing but letters, digits, ``.``, ``_`` and ``-``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(name))[:100].lstrip(".") or "scenario"


def default_path(sc, seed):
    """Where a failing free run saves its trace: a plain file in the working directory,
    whatever the scenario's ``name`` says."""
    return f"mmstress-{file_safe(sc.name)}-seed{seed}.mmtrace"


def scenario_of(trace, where, trust=False, named=None):
    """The scenario a trace was recorded from, once ``trust.vet_trace`` has passed it
    (location, text, workload code: checked before the workload is imported)."""
    path, text = _trust.vet_trace(trace, where, trust=trust, named=named)
    name = os.path.splitext(os.path.basename(path))[0]
    try:
        return scenario_mod.parse(text, path, name)
    except scenario_mod.ScenarioError as exc:
        raise BadTrace(f"{where}: its scenario cannot be loaded: {exc}") from None


def load_trace(path, trust=False):
    """The trace at ``path``; a format-2 trace (no hashes) only with ``trust``."""
    return Trace.load(path, legacy=trust)


def load_for_replay(path, trust=False, named=None):
    """(trace, scenario, SchedOptions) to replay ``path``; TraceError says why not
    (BadTrace: the trace is invalid, changed or not trusted)."""
    trace = load_trace(path, trust)
    h = trace.header
    if h.get("truncated"):
        raise TraceError(f"{path} was truncated while recording (the run was longer than "
                         f"{scheduling.FREE_MAX_STEPS:,} steps): it cannot be replayed; record "
                         "a shorter run (--ops, --duration) or use --sched random/pct")
    sc = scenario_of(trace, path, trust=trust, named=named)
    sc = dataclasses.replace(sc, cpus=h["cpus"], ops=h.get("ops"), duration=h.get("duration"))
    opts = sched_options(h, trace.steps, path)
    return trace, sc, opts


def sched_options(header, steps, where, strategy="replay"):
    """The SchedOptions that follow ``steps`` with the header's options; BadTrace names
    an option this mmstress does not know."""
    try:
        return scheduling.SchedOptions(**{**header.get("options", {}), "strategy": strategy,
                                          "trace_steps": steps})
    except (TypeError, ValueError) as exc:
        raise BadTrace(f"{where}: header field options: {exc}") from None


def replay(path, announce=None, trust=False, named=None):
    """Redo the run recorded in ``path``: (trace, result); TraceError if it cannot be used.
    ``announce(trace)`` is called before the run; ``reproduced(trace, result)`` says
    whether the recording came out again.  ``trust``, ``named``: see trust.vet_trace."""
    from harness.supervisor import machine
    trace, sc, opts = load_for_replay(path, trust=trust, named=named)
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
