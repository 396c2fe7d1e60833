"""``mmstress report REPORT.json``: draw a run's or a sweep's JSON report as one HTML page.

    mmstress report run.json --html run.html [--trace T.mmtrace]
    mmstress report sweep.json --html sweep.html
    mmstress report run.json                      (the text summary again)

The page (harness/outputs/html_report.py) is one self-contained file: the
splats in the kernel's words, the per-CPU timeline from the trace, and the
counters sampled over the run (zone free pages against the watermarks, buddy
free blocks and the fragmentation index, slab fast-path ratio per cache,
lock contention, per-CPU activity); a sweep's page groups the failures by
bug with counts and seeds.  The timeline needs a trace: ``--trace``, or the
one the report names (a ``--sched`` run saved with ``--trace``, or the
trace a failing free run drops), looked for as written and next to the
report.  ``--trace`` applies to a report of one run.

Exit codes: 0 the page (or summary) was written; 2 the report or trace cannot
be read (the message names the file).
"""

import json
import os
import sys

from harness.exits import EXIT_OK, UsageError

HELP = "draw a run's or sweep's JSON report as one self-contained HTML page"
EPILOG = None                 # the docstring says the exit codes


def arguments(p):
    p.add_argument("report", help="a JSON report of `mmstress run/sweep/replay --json`")
    p.add_argument("--html", metavar="PATH", help="write the HTML page here")
    p.add_argument("--trace", metavar="PATH", help="the run's .mmtrace, for the per-CPU timeline "
                   "(default: the trace the report names, if it exists)")


def load_report(path):
    """The report document; UsageError naming the file when it is not one."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the report: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not a JSON report ({exc})") from None
    if not isinstance(doc, dict) or doc.get("tool") != "mmstress" or not isinstance(doc.get("runs"), list):
        raise UsageError(f"{path}: not an mmstress report (no \"tool\": \"mmstress\" and \"runs\" "
                         "list); write one with `mmstress run --json PATH` or `mmstress sweep --json PATH`")
    return doc


def load_traces(doc, report_path, trace_path):
    """{run index: steps} of the runs whose trace can be found."""
    from harness.scheduler.trace import Trace, TraceError
    runs = doc["runs"] if doc.get("kind") != "sweep" else []
    wanted = {}
    if trace_path:
        if doc.get("kind") == "sweep":
            raise UsageError(f"--trace {trace_path}: goes with the report of a run, not of a sweep")
        if len(runs) != 1:
            raise UsageError(f"--trace {trace_path}: the report has {len(runs)} runs; --trace goes "
                             "with a report of one run")
        wanted[0] = [trace_path]
    else:
        for i, run in enumerate(runs):
            named = ((run or {}).get("sched") or {}).get("trace") if isinstance(run, dict) else None
            if isinstance(named, str) and named:
                here = os.path.join(os.path.dirname(os.path.abspath(report_path)), os.path.basename(named))
                wanted[i] = [named, here]
    traces = {}
    for i, candidates in wanted.items():
        path = next((p for p in candidates if os.path.exists(p)), None)
        if path is None:
            if trace_path:
                raise UsageError(f"--trace {trace_path}: no such file")
            print(f"mmstress: {candidates[0]} (named by the report) is gone: no timeline",
                  file=sys.stderr)
            continue
        try:
            trace = Trace.load(path)
        except TraceError as exc:
            raise UsageError(str(exc)) from None
        run = runs[i]
        h = trace.header
        if (h.get("scenario"), h.get("seed")) != (run.get("scenario"), run.get("seed")):
            raise UsageError(f"{path}: a trace of {h.get('scenario')} seed {h.get('seed')}, but the "
                             f"report's run is {run.get('scenario')} seed {run.get('seed')}")
        traces[i] = trace.steps
    return traces


def _print_summary(doc):
    from harness.outputs import report
    if doc.get("kind") == "sweep":
        for g in doc.get("groups") or []:
            print(f"{g.get('count')} runs: {g.get('title')}")
        print(f"runs: {doc.get('counts')}")
    else:
        for run in doc["runs"]:
            print(report.summary(run), flush=True)


def main(args):
    from harness.outputs import html_report
    doc = load_report(args.report)
    if args.trace and not args.html:
        raise UsageError("--trace: draws the timeline of --html; give --html PATH")
    traces = load_traces(doc, args.report, args.trace) if args.html else None
    try:
        if not args.html:
            _print_summary(doc)
            return EXIT_OK
        html_report.write(args.html, doc, traces)
    except OSError as exc:
        raise UsageError(f"--html {args.html}: cannot write: {exc.strerror}") from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        what = "draw" if args.html else "summarise"
        raise UsageError(f"{args.report}: a report this mmstress cannot {what} "
                         f"({type(exc).__name__}: {exc})") from None
    print(f"mmstress: wrote {args.html}", file=sys.stderr)
    return EXIT_OK
