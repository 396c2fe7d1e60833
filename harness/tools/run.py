"""Run scenarios and write their reports: what ``mmstress run`` does once its arguments are checked.

``run_scenarios`` is the one path from resolved scenarios to an exit code:
each scenario runs on its CPUs (``supervisor.machine.run``), a scheduled run
saves its trace (``outputs.recording``), the summary is printed, the JSON and
JUnit reports are written.  ``mmstress run`` calls it after parsing its
options (harness/commands/run.py); a sweep's runner calls it directly with a
scenario and seed (harness/tools/sweep.py) -- no command line in between.

``check_determinism`` is ``mmstress run --check-determinism``: each scenario
twice with the same seed and serialised schedule, trace hashes compared.
"""

import dataclasses
import os
import signal
import sys

from harness import signals
from harness.exits import (EXIT_HARNESS, EXIT_OK, EXIT_USAGE, EXIT_VIOLATIONS, UsageError,
                           interrupted as _interrupted, printable)
from harness.outputs import destination


@dataclasses.dataclass
class RunSettings:
    """How to run and report, beside the scenarios and the seed (``mmstress run``'s options)."""

    sched: str = "none"              # harness.scheduler.options.STRATEGIES
    sched_params: dict = dataclasses.field(default_factory=dict)   # the strategy's declared options
    sched_seed: int | None = None    # the schedule's own seed (default: the run's)
    repro_budget: float | None = None   # --repro: seconds to search schedules after a failing none run
    irq_mask: str | None = None      # None: the scenario's
    proc_views: tuple = ()           # machine.PROC_VIEWS printed at the end
    trace: str | None = None         # where to save a scheduled run's trace
    quiet: bool = False              # no progress line, no summary
    json: str | None = None
    junit: str | None = None
    html: str | None = None          # the HTML page (harness/outputs/html_report.py)
    command: str = "mmstress run"    # the command line, for the report
    failures: object = None          # outputs.failures.FailureDB: save failing runs (None: off)
    names: tuple = ()                # the scenarios as the user named them (for the database)


def run_scenarios(scenarios, seed, settings):
    """Run ``scenarios`` one after the other with ``seed``; write the reports; return the exit code.

    Ctrl-C or SIGTERM (harness/signals.py) stops the current run, skips the
    rest and still writes the (partial) reports: exit 128 + the signal, the
    reports saying ``"interrupted"``; a signal before the first run booted gives
    a report whose run is interrupted with no operations.  A trace that cannot be
    saved is said on stderr and in the run's ``sched.trace_error``; the run stays
    in the reports.  A harness bug prints its traceback and exits 3 with whatever
    was run.  A report that cannot be written at the end exits 2.
    """
    from harness.outputs import junit, recording, report
    from harness.scheduler import options as scheduling
    from harness.supervisor import machine
    live = sys.stderr.isatty() and not settings.quiet

    def progress(line):
        sys.stderr.write("\r" + line + "\033[K")
        sys.stderr.flush()

    results, code, interrupted = [], EXIT_OK, None
    restore = machine.install_stop_handlers()
    try:
        for sc in scenarios:
            opts = scheduling.options_for(settings.sched, sc, sched_seed=settings.sched_seed,
                                          **settings.sched_params)
            path = settings.trace
            if path and len(scenarios) > 1:
                root, ext = os.path.splitext(path)
                path = f"{root}-{recording.file_safe(sc.name)}{ext or '.mmtrace'}"
            res = machine.run(sc, seed, irq_mask=settings.irq_mask, proc_views=list(settings.proc_views),
                              progress=progress if live else None, sched=opts)
            if opts.strategy == "free" and not path and res.exit_code == EXIT_VIOLATIONS:
                path = recording.default_path(res.scenario, seed)   # a free run's only way back
            if path and opts.active and res.sched is not None:
                try:
                    recording.save(res, path)
                except OSError as exc:           # the run stays in the reports, without it
                    destination.failed("--trace", path, exc)
                    res.sched["trace_error"] = f"{path}: {exc.strerror or exc}"
            if settings.failures is not None:
                from harness.tools import failures
                i = len(results)
                failures.record(settings.failures, res,
                                settings.names[i] if i < len(settings.names) else None)
            if live:
                sys.stderr.write("\r\033[K")
            results.append(res)
            if not settings.quiet:
                print(report.summary(report.run_dict(res)), flush=True)
            if res.interrupted or signals.requested():
                break
    except UsageError:
        raise                     # the machine's environment (no room in /dev/shm): exit 2
    except Exception:  # noqa: BLE001 - the harness's own bug: report what we have, exit 3
        import traceback
        traceback.print_exc()
        code = EXIT_HARNESS
    finally:
        interrupted = signals.requested() or next(
            (r.interrupted for r in results if r.interrupted), None)
        restore()
    if code != EXIT_HARNESS:
        codes = [r.exit_code for r in results]
        if EXIT_HARNESS in codes:
            code = EXIT_HARNESS
        elif interrupted:
            code = _interrupted(interrupted)
        elif EXIT_VIOLATIONS in codes:
            code = EXIT_VIOLATIONS
    signame = signal.Signals(interrupted).name if interrupted else None
    doc = report.document(results, settings.command, seed, code, signame)
    code = destination.write_all((("--json", settings.json, report.write_json),
                                  ("--junit", settings.junit, junit.write_junit),
                                  ("--html", settings.html, lambda p, d: _html(p, d, results))),
                                 doc, code, EXIT_USAGE)
    if settings.repro_budget and not interrupted and code == EXIT_VIOLATIONS:
        from harness.tools.explore import search_and_print
        for res in results:
            if res.exit_code == EXIT_VIOLATIONS and res.violations:
                rc = search_and_print(res.scenario, res.seed, res.violations[0], settings.repro_budget)
                if rc > 1:
                    interrupted = rc - 128
                    code = rc
                    break
    if interrupted:
        written = "; partial report written" if settings.json or settings.junit or settings.html else ""
        print(f"mmstress: interrupted by {signame}{written}", file=sys.stderr)
    return code


def check_determinism(scenarios, seed, settings):
    """Run each scenario twice with the same seed and schedule; compare trace hashes.

    Exit 0 when every pair matches; 3 naming the first differing step otherwise.
    """
    from harness.scheduler import options as scheduling
    from harness.scheduler.base import YIELD_KINDS
    from harness.scheduler.trace import first_difference
    from harness.supervisor import machine
    strategy = settings.sched if settings.sched not in ("none", "free") else "random"
    if settings.sched in ("none", "free"):
        print(f"mmstress: --check-determinism needs a serialised schedule; using --sched {strategy}",
              file=sys.stderr)
    code = EXIT_OK
    restore = machine.install_stop_handlers()
    try:
        for sc in scenarios:
            runs = []
            for _ in (1, 2):
                params = settings.sched_params if strategy == settings.sched else {}
                opts = scheduling.options_for(strategy, sc, sched_seed=settings.sched_seed, **params)
                res = machine.run(sc, seed, irq_mask=settings.irq_mask, sched=opts)
                if res.interrupted:
                    return _interrupted(res.interrupted)
                runs.append(res)
            a, b = runs
            ha, hb = (a.sched or {}).get("hash"), (b.sched or {}).get("hash")
            if ha and ha == hb:
                print(f"{printable(sc.name)}: deterministic: seed {seed}, --sched {strategy}, "
                      f"{a.sched['steps']:,} steps, trace hash {ha} twice", flush=True)
                continue
            code = EXIT_HARNESS
            step = first_difference(a.steps, b.steps)
            where = "same steps, different violations"
            if step is not None:
                def at(steps):
                    if step > len(steps):
                        return "end of run"
                    cpu, kind = steps[step - 1]
                    return f"CPU {cpu} at {YIELD_KINDS[kind]}"
                where = f"first differing step {step}: {at(a.steps)} vs {at(b.steps)}"
            print(f"{printable(sc.name)}: NOT deterministic: seed {seed}, --sched {strategy}: trace hashes "
                  f"{ha} and {hb}; {where}")
    finally:
        restore()
    return code


def _html(path, doc, results):
    """The run's page (harness/outputs/html_report.py), with each traced run's steps."""
    from harness.outputs import html_report
    html_report.write(path, doc, {i: r.steps for i, r in enumerate(results) if r.steps})
