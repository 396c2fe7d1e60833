"""``mmstress sweep SCENARIO... --seeds 0-999 [-j N | --tx SPEC...]``: a parallel seed sweep.

Each scenario x seed is one ``mmstress run`` (the same options, the same
reports); ``-j`` of them run at once on this machine, or one per ``--tx``
pytest-xdist gateway, on this machine or others (``harness/tools/sweep_xdist.py``).  A progress bar on a terminal (plain
lines otherwise), then the failing runs grouped by violation kind and site,
each with the command that reproduces it (``--html``: the same as one page
with the plots of the first failing run).  How the runs are started and
stopped: ``harness/tools/sweep.py``.

Saved failures first: the failure database's entries for these scenarios
(mmstress failures) are re-run before the sweep; one that fails again makes
the sweep's exit code at least 1 and is listed above its summary and in the
JSON (saved_failures).  Every failing run of the sweep is saved.
"""

import argparse
import os
import shlex
import sys
import time

from harness.exits import EXIT_HELP, EXIT_USAGE, UsageError, printable

HELP = "run scenarios over many seeds, N runs at a time; summarise failing seeds with reproduce commands"

PLAIN_EVERY = 30.0           # seconds between progress lines when stderr is not a terminal


EPILOG = EXIT_HELP + """
examples:
  mmstress sweep scenarios/larson.toml --seeds 0-999 -j 2 --duration 1s --junit sweep.xml
  mmstress sweep scenarios/*.toml --seeds 0-9 --budget 10m --json sweep.json
  mmstress sweep larson bugs/lock_abba --seeds 0-999 --tx ssh=me@box1//python=python3 \
      --tx ssh=me@box2//python=python3 --json sweep.json
"""


def arguments(p):
    from harness.outputs.destination import writable
    p.add_argument("scenario", nargs="+", help="scenario names (see `mmstress list`) or .toml paths")
    p.add_argument("--seeds", default="0-99", help="seeds to run: 0-999, 1,5,7 or mixes like "
                   "0-9,20 (default: 0-99)")
    p.add_argument("-j", "--jobs", default=None, help="runs at once on this machine (default auto: "
                   "the cores this process may use divided by the scenario's CPUs, at least 1)")
    p.add_argument("--tx", action="append", metavar="SPEC", help="run on a pytest-xdist worker "
                   "instead of the local pool, one worker per --tx (repeatable; xdist syntax: "
                   "ssh=user@host//python=python3, socket=HOST:PORT, 2*popen); each host needs "
                   "the same mmstress installed, and scenario files of your own at the same "
                   "absolute path")
    p.add_argument("--duration", help="how long each run lasts (overrides the scenarios)")
    p.add_argument("--ops", type=int, help="process-context iterations per CPU, instead of a duration")
    p.add_argument("--cpus", type=int, help="number of CPUs (overrides the scenarios)")
    p.add_argument("--irq-mask", choices=("lazy", "sigmask"), help="as `mmstress run --irq-mask`")
    p.add_argument("--sched", help="scheduler strategy, as `mmstress run --sched` (free, random, pct)")
    p.add_argument("--budget", help="wall-clock budget for the whole sweep (10m, 1h): start no run "
                   "after it; the runs not started are listed as not run, not as failures")
    p.add_argument("--json", metavar="PATH", type=writable, help="write the sweep's JSON report")
    p.add_argument("--junit", metavar="PATH", type=writable, help="write JUnit XML, one test case per run")
    p.add_argument("--html", metavar="PATH", type=writable, help="write one HTML page: failures "
                   "grouped by bug, every seed's outcome, the first failing run's plots (mmstress report)")
    p.add_argument("--show", type=int, default=5, metavar="N", help="reproduce commands printed per "
                   "failing group (default 5; the JSON has them all)")
    p.add_argument("--quiet", action="store_true", help="no progress; the summary only")
    from harness.commands import failures
    failures.add_db_arguments(p)


def main(args):
    from harness import scenario
    from harness.commands import run as run_command
    from harness.tools import run, sweep
    try:
        seeds = sweep.parse_seeds(args.seeds)
    except ValueError as exc:
        raise UsageError(f"--seeds {args.seeds}: {exc}") from None
    run_args = []
    for opt, val in (("--duration", args.duration), ("--ops", args.ops), ("--cpus", args.cpus),
                     ("--irq-mask", args.irq_mask), ("--sched", args.sched)):
        if val is not None:
            run_args += [opt, str(val)]
    # The run options are checked by `mmstress run`'s own parser and validation, here, once;
    # every run of the sweep then gets the resolved scenarios and these settings.
    parser = argparse.ArgumentParser(prog="mmstress run")
    run_command.arguments(parser)
    try:
        parsed = parser.parse_args([*args.scenario, *run_args])
    except SystemExit:
        raise UsageError("the run options above are not accepted by `mmstress run`") from None
    scenarios, _ = run_command.scenarios_of(parsed)
    from harness.commands import failures as failures_command
    db = failures_command.open_db(args)
    settings = run.RunSettings(sched=parsed.sched, sched_params=parsed.sched_params,
                               sched_seed=parsed.sched_seed, irq_mask=parsed.irq_mask, quiet=True,
                               failures=db)
    budget = None
    if args.budget is not None:
        try:
            budget = scenario.parse_duration(args.budget)
        except ValueError as exc:
            raise UsageError(f"--budget {args.budget!r}: allowed: {exc}") from None
    if args.tx and args.jobs is not None:
        raise UsageError(f"-j {args.jobs} with --tx: -j is the local pool; with --tx each gateway "
                         "is one worker (--tx 2*ssh=... for two on one host)")
    jobs = _jobs(args.jobs or "auto", max(sc.cpus for sc in scenarios))
    if args.show < 0:
        raise UsageError(f"--show {args.show}: allowed: a number >= 0")

    named = list(zip(args.scenario, scenarios))
    saved_code, saved = 0, []
    if db is not None:             # saved failures first; the sweep runs whatever they do
        from harness.tools import failures
        saved_code, saved = failures.rerun_first(db, named, run_command.planned_runs(
            settings, named, seeds), quiet=True)
        if saved_code not in (0, 1):
            return saved_code
    live = sys.stderr.isatty() and not args.quiet
    progress = None if args.quiet else (Bar() if live else Lines())
    if args.tx:
        try:
            import xdist  # noqa: F401
        except ImportError:
            raise UsageError("--tx needs pytest-xdist (pip install pytest-xdist)") from None
        from harness.tools import sweep_xdist
        sw = sweep_xdist.XdistSweep(named, seeds, args.seeds, args.tx, _overrides(parsed),
                                    settings, run_args, budget, progress)
        sw.saved = list(saved)
    else:
        sw = sweep.Sweep(named, seeds, jobs, settings, run_args, budget, progress, saved)
    code = sw.run()
    if sw.usage_error:
        raise UsageError(f"a run refused its options: {sw.usage_error}")
    command = "mmstress " + " ".join(shlex.quote(a) for a in (args.argv or []))
    doc = sw.document(command, args.seeds)
    from harness.outputs import destination, report
    code = destination.write_all((("--json", args.json, report.write_json),
                                  ("--junit", args.junit, sweep.write_junit),
                                  ("--html", args.html, _html_report)), doc, code, EXIT_USAGE)
    print(sw.summary(shown=args.show), flush=True)   # a reader gone: harness.cli.ReaderGone
    if sw.interrupted:
        import signal
        print(f"mmstress: sweep interrupted by {signal.Signals(sw.interrupted).name}"
              + ("; partial report written" if args.json or args.junit or args.html else ""), file=sys.stderr)
    return code


def _overrides(parsed):
    """The scenario fields the run options override (checked already by ``scenarios_of``)."""
    from harness import scenario
    over = {}
    if parsed.cpus is not None:
        over["cpus"] = parsed.cpus
    if parsed.duration is not None:
        over["duration"], over["ops"] = scenario.parse_duration(parsed.duration), None
    if parsed.ops is not None:
        over["ops"], over["duration"] = parsed.ops, None
    return over


def _jobs(text, cpus):
    if text == "auto":
        try:
            cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cores = os.cpu_count() or 1
        return max(1, cores // max(1, cpus))
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 1024:
        raise UsageError(f"-j {text}: allowed: auto or a number of runs at once from 1 to 1024")
    return n


def _eta(sw, now):
    rate = sw.rate(now)
    if not rate:
        return "?"
    left = (sw.planned - sw.done) / rate
    if sw.budget is not None:
        left = min(left, max(0.0, sw.budget - (now - sw.t0)))
    from harness.tools.sweep import _dur
    return _dur(left)


def _fail_line(run):
    from harness.tools.sweep import problems
    probs = problems(run)
    what = "; ".join(f"{w['kind']}: {w['title']}" + (f" at {w['site']}" if w["site"] else "")
                     for _key, w in probs[:2]) or run["status"]
    return printable(f"FAIL {run['scenario']} seed {run['seed']} ({run['status']}): {what}\n"
                     f"     reproduce: {run['reproduce']}", multiline=True)


class Lines:
    """Progress for logs: a line per failing run, and a count every 10% or PLAIN_EVERY seconds."""

    def __init__(self):
        self.last = 0.0
        self.step = 1

    def started(self, sw):
        self.last = time.monotonic()
        self.step = max(1, sw.planned // 10)
        where = (f"on {len(sw.tx)} xdist gateway{'s' if len(sw.tx) != 1 else ''}" if sw.tx
                 else f"{sw.jobs} at a time")
        print(f"mmstress sweep: {sw.planned} runs, {where}", file=sys.stderr, flush=True)

    def finished(self, sw, job, run):
        if run["status"] not in ("passed", "interrupted"):
            print(_fail_line(run), file=sys.stderr, flush=True)
        now = time.monotonic()
        if sw.done % self.step == 0 or now - self.last >= PLAIN_EVERY:
            self.last = now
            print(f"mmstress sweep: {sw.done}/{sw.planned} runs, {sw.failing} failing, "
                  f"{sw.rate(now):.2f} runs/s, ETA {_eta(sw, now)}", file=sys.stderr, flush=True)

    def tick(self, sw):
        pass

    def done(self, sw):
        pass


class Bar:
    """A live progress bar on a terminal (stderr), with failing runs printed above it."""

    WIDTH = 24

    def __init__(self):
        self.drawn = 0.0

    def started(self, sw):
        self.draw(sw, force=True)

    def finished(self, sw, job, run):
        if run["status"] not in ("passed", "interrupted"):
            sys.stderr.write("\r\033[K" + _fail_line(run) + "\n")
        self.draw(sw, force=True)

    def tick(self, sw):
        self.draw(sw)

    def draw(self, sw, force=False):
        now = time.monotonic()
        if not force and now - self.drawn < 0.2:
            return
        self.drawn = now
        frac = sw.done / sw.planned if sw.planned else 1.0
        full = int(frac * self.WIDTH)
        bar = "#" * full + "-" * (self.WIDTH - full)
        state = "stopping" if sw.interrupted else f"ETA {_eta(sw, now)}"
        sys.stderr.write(f"\r[{bar}] {sw.done}/{sw.planned}  failing {sw.failing}  "
                         f"{sw.rate(now):.2f} runs/s  {state}\033[K")
        sys.stderr.flush()

    def done(self, sw):
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def _html_report(path, doc):
    from harness.outputs import html_report
    html_report.write(path, doc)
