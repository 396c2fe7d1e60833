"""Saved failures, re-run first: what ``mmstress run``/``sweep``/``pytest --mmstress`` do with the database.

The database itself (files, entries, validation) is ``harness/outputs/failures.py``.
Here: turning a finished run into an entry (``record``: a run that failed with
a violation is saved, one that passed counts a pass of its entry), turning
an entry back into a run (``plan``, ``rerun``), and the "saved failures
first" step a command does before the runs it was asked for
(``rerun_first``).

A re-run is the saved run again: the same scenario file, seed, CPUs,
iterations or duration, interrupt masking and schedule (strategy, its
options, the schedule's seed) -- the command of its ``reproduce`` line.  A
serialised schedule (random, pct, pos, dfs) is the same run bit for bit; an
unscheduled or ``free`` run is the same op streams under a new
interleaving, which is why an entry is dropped only after ``keep`` passes in
a row.  (The trace of a ``free`` failure is kept beside the entry for
``mmstress replay``/``minimize``; re-runs do not replay it, since a changed
workload could no longer follow it.)

Which entries a command re-runs: those whose scenario file is one of the
command's (compared by resolved path), except an entry that is exactly one
of the runs the command is about to do anyway (same identity): that run
counts for it.
"""

import copy
import dataclasses
import os
import sys

from harness.exits import EXIT_HARNESS, EXIT_OK, EXIT_USAGE, EXIT_VIOLATIONS
from harness.outputs import failures as db_mod
from harness.outputs import merge, recording, report


def _active(opts):
    """The schedule a run really had: None for no engine (--sched none)."""
    return opts if opts is not None and opts.active else None


def _sched_header(opts):
    return opts.header() if opts is not None else {"strategy": "none"}


def _limit(sc):
    return {"ops": sc.ops} if sc.ops else {"duration": sc.duration}


def identity_of(sc, seed, irq_mask, opts):
    """The entry id of the run ``machine.run(sc, seed, irq_mask, sched=opts)`` would do."""
    from harness.supervisor import machine
    active = _active(opts)
    ran = machine.for_schedule(sc, active)
    return db_mod.identity(ran.source, seed, ran.cpus, _limit(ran), irq_mask or ran.irq_mask,
                           _sched_header(active))


def identity_of_result(result):
    """The entry id of a finished run."""
    sc = result.scenario
    return db_mod.identity(sc.source, result.seed, sc.cpus, _limit(sc), result.irq_mask,
                           _sched_header(_active(result.sched_options)))


def problem_of(result):
    """{key, kind, title, site} of the first thing that made the run exit 1 (one line each)."""
    return {k: db_mod.printable(v) for k, v in _problem(result).items()}


def _problem(result):
    for v in result.violations:
        rec = merge.as_record(v)
        return {"key": rec["key"], "kind": str(rec.get("kind", "violation")),
                "title": str(rec.get("title") or rec.get("kind")), "site": str(rec.get("site") or "")}
    for f in result.failures:
        site = f.get("site") or ""
        return {"key": f"{f['kind']} @ {site}" if site else str(f["kind"]), "kind": str(f["kind"]),
                "title": str(f.get("message", "")).splitlines()[0][:500] if f.get("message") else f["kind"],
                "site": str(site)}
    for p in result.invariants:
        return {"key": "invariant @ (end of run)", "kind": "invariant", "title": str(p)[:500],
                "site": "(end of run)"}
    return {"key": "violation", "kind": "violation", "title": "exit 1", "site": ""}


def problem_line(problem):
    """``title at site`` (the site once: some titles already name it)."""
    site = problem["site"]
    return problem["title"] + (f" at {site}" if site and site not in problem["title"] else "")


def fields_of(result, name, entry_id=None):
    """The entry fields of a finished failing run (``FailureDB.failed`` adds the bookkeeping)."""
    sc = result.scenario
    plain = copy.copy(result)
    plain.trace_path = None                         # the entry's reproduce line is the run itself
    return {"id": entry_id or identity_of_result(result),
            "scenario": db_mod.printable(name or recording.portable_source(sc)),
            "source": os.path.realpath(sc.source), "scenario_hash": recording.scenario_hash(sc),
            "seed": result.seed, "cpus": sc.cpus, "limit": _limit(sc), "irq_mask": result.irq_mask,
            "sched": _sched_header(_active(result.sched_options)),
            "violation": problem_of(result),
            "reproduce": db_mod.printable(report.reproduce_command(plain))}


def record(db, result, name=None, entry_id=None, warn=None):
    """What a finished run does to the database: exit 1 saves (or refreshes) its entry, exit 0
    counts a pass of its entry if it has one.  Returns ("saved", entry), ("passed", entry),
    ("dropped", entry) or (None, None).  A database that cannot be written is a warning
    (``warn(text)``, default stderr), never the run's failure."""
    if db is None or result.exit_code not in (EXIT_OK, EXIT_VIOLATIONS):
        return None, None
    warn = warn or (lambda text: print(f"mmstress: {text}", file=sys.stderr))
    try:
        if result.exit_code == EXIT_VIOLATIONS:
            fields = fields_of(result, name, entry_id)
            trace = result.trace_path if result.trace_path and os.path.isfile(result.trace_path) \
                else None
            return "saved", db.failed(fields, trace)
        entry, dropped = db.passed(entry_id or identity_of_result(result))
        if entry is None:
            return None, None
        return ("dropped" if dropped else "passed"), entry
    except (OSError, db_mod.EntryError) as exc:
        warn(f"cannot update the failure database {db.path}: {exc}")
        return None, None


# --- an entry back into a run ---------------------------------------------------------------------
def plan(entry):
    """(Scenario, SchedOptions) of an entry; EntryError for options this mmstress refuses,
    UsageError-like ScenarioError (from ``harness.scenario``) when its file cannot be loaded."""
    from harness import scenario, scheduler
    from harness.scheduler import options as scheduling
    sched = dict(entry["sched"])
    strategy = sched.get("strategy")
    if strategy not in scheduling.STRATEGIES:
        raise db_mod.EntryError(f"{entry['id']}: field 'sched': strategy {strategy!r}; allowed: "
                                f"{', '.join(scheduling.STRATEGIES)}")
    if "trace_steps" in sched:
        raise db_mod.EntryError(f"{entry['id']}: field 'sched': trace_steps: an entry re-runs "
                                "a schedule, it does not replay steps")
    if not 0.0 <= sched.get("irq_rate", 0.0) <= 1.0:
        raise db_mod.EntryError(f"{entry['id']}: field 'sched': irq_rate "
                                f"{sched.get('irq_rate')!r}; allowed: a probability in [0, 1]")
    try:
        opts = scheduling.SchedOptions(**sched)
        cls = scheduler.REGISTRY.get(strategy)
        for o in (cls.OPTIONS if cls else ()):          # each value as its flag would accept it
            value = opts.params.get(o.name)
            if o.cli and value not in (None, ()):
                o.type(o.fmt(value))
    except Exception as exc:  # noqa: BLE001 - data from disk: any refusal is "not an entry"
        raise db_mod.EntryError(f"{entry['id']}: field 'sched': {exc}") from None
    if entry["cpus"] > scenario.MAX_CPUS:
        raise db_mod.EntryError(f"{entry['id']}: field 'cpus' is {entry['cpus']}; allowed 1 to "
                                f"{scenario.MAX_CPUS}")
    sc = scenario.resolve(entry["source"])
    limit = entry["limit"]
    sc = dataclasses.replace(sc, cpus=entry["cpus"], ops=limit.get("ops"),
                             duration=limit.get("duration"))
    return sc, opts


@dataclasses.dataclass
class Rerun:
    """One saved failure run again: its entry, the outcome and what happened to the entry."""

    entry: dict
    code: int                     # the run's exit code (2: it could not be run)
    result: object = None         # machine.RunResult, None when it could not be run
    change: str | None = None     # "saved" (failed again), "passed", "dropped", None
    after: dict | None = None     # the entry after the run (None when dropped or not run)
    why: str = ""                 # when it could not be run


def rerun(db, entry):
    """Run a saved failure again and record the outcome in ``db``; returns a ``Rerun``."""
    from harness import scenario
    from harness.supervisor import machine
    try:
        sc, opts = plan(entry)
    except (db_mod.EntryError, scenario.ScenarioError) as exc:
        return Rerun(entry, EXIT_USAGE, why=str(exc))
    res = machine.run(sc, entry["seed"], irq_mask=entry["irq_mask"], sched=opts)
    if opts.strategy == "free" and res.exit_code == EXIT_VIOLATIONS:
        path = os.path.join(db.path, f"{entry['id']}.mmtrace.new")
        try:
            os.makedirs(db.path, exist_ok=True)
            recording.save(res, path)
        except OSError:
            res.trace_path = None
    change, after = record(db, res, entry["scenario"], entry_id=entry["id"])
    if res.trace_path and res.trace_path.endswith(".new"):
        try:
            os.unlink(res.trace_path)
        except OSError:
            pass
        res.trace_path = db.trace_of(after) if after else None   # the report names the kept copy
    return Rerun(entry, res.exit_code, res, change, None if change == "dropped" else after)


# --- saved failures first ----------------------------------------------------------------------
def _plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def pending(db, named, planned=lambda entry: False):
    """([entry to re-run], [problem text]): the valid entries of ``db`` whose scenario file is one
    of ``named`` ([(name as typed, Scenario)]) and that ``planned(entry)`` does not claim (a run
    the command does anyway); the problems are the corrupt files, each skipped."""
    entries, problems = db.entries()
    sources = {os.path.realpath(sc.source) for _, sc in named}
    return [e for e in entries if os.path.realpath(e["source"]) in sources and not planned(e)], \
        problems


def outcome_line(r, keep):
    """One line saying what re-running an entry did."""
    e = r.entry
    head = f"saved failure {e['id'][:8]} ({e['scenario']} seed {e['seed']})"
    if r.code == EXIT_USAGE:
        return f"{head}: cannot be re-run: {r.why} (mmstress failures clear {e['id'][:8]})"
    if r.code == EXIT_VIOLATIONS:
        return f"{head}: fails again: {problem_line(problem_of(r.result))}"
    if r.code == EXIT_OK:
        if r.change == "dropped":
            return f"{head}: passed {_plural(keep, 'time')} in a row: dropped from the database"
        passes = r.after["passes"] if r.after else 1
        return f"{head}: passed ({passes} of {keep} passes in a row before it is dropped)"
    if r.code == EXIT_HARNESS:
        f = (r.result.failures or [{}])[0] if r.result else {}
        return f"{head}: the harness failed (exit 3): {f.get('kind')}: {f.get('message')}"
    return f"{head}: interrupted"


def announce(db, todo, out):
    """``re-running 1 saved failure of bugs/double_free first (seed 0, .mmstress/failures/ab12.json)``"""
    by_name = {}
    for e in todo:
        by_name.setdefault(e["scenario"], []).append(e)
    for name, es in by_name.items():
        seeds = ", ".join(str(e["seed"]) for e in es[:10]) + (", ..." if len(es) > 10 else "")
        where = db.display(es[0]["id"]) if len(es) == 1 else db.path
        print(f"mmstress: re-running {_plural(len(es), 'saved failure')} of {name} first "
              + (f"(seed {seeds}, {where})" if len(es) == 1 else f"(seeds {seeds}; {where})"),
              file=out, flush=True)


def rerun_first(db, named, planned=lambda entry: False, quiet=False, out=None):
    """Re-run the saved failures of ``named`` before anything else; returns (code, [Rerun]).

    ``named``: [(name as typed, Scenario)]; ``planned(entry)``: true for an entry that is
    one of the runs the command does anyway (not re-run first).  Corrupt files are
    reported and skipped.  The codes are ``rerun_entries``'.
    """
    out = out or sys.stderr
    todo, problems = pending(db, named, planned)
    for p in problems:
        print(f"mmstress: skipping a corrupt saved failure: {p}", file=out)
    if not todo:
        return EXIT_OK, []
    announce(db, todo, out)
    return rerun_entries(db, todo, quiet, out)


def rerun_entries(db, todo, quiet=False, out=None):
    """Re-run ``todo`` (entries) in order; returns (code, [Rerun]).

    ``code`` is 1 if one fails again, 3 if the harness failed (the rest are not run),
    128 + signal if interrupted (likewise), else 0.  Each failing re-run's summary
    (the splat and its reproduce line) goes to stdout unless ``quiet``; a one-line
    outcome per entry to ``out`` (stderr).  An entry that cannot be re-run (its
    scenario file is gone, options this mmstress refuses) is reported and skipped.
    """
    from harness.supervisor import machine
    out = out or sys.stderr
    done, code = [], EXIT_OK
    restore = machine.install_stop_handlers()
    try:
        for e in todo:
            r = rerun(db, e)
            done.append(r)
            if r.result is not None and r.code == EXIT_VIOLATIONS and not quiet:
                print(report.summary(report.run_dict(r.result)), flush=True)
            print(f"mmstress: {outcome_line(r, db.keep)}", file=out, flush=True)
            if r.code not in (EXIT_OK, EXIT_USAGE):
                code = r.code
                if r.code != EXIT_VIOLATIONS:      # interrupted or broken: stop here
                    break
    finally:
        restore()
    return code, done
