"""``mmstress minimize TRACE -o OUT``: the smallest schedule that fails the same way.

Shrinks the recorded schedule itself (harness/tools/minimize.py): deletes
and simplifies switch points, drops interrupts, CPUs and iterations, and
keeps a candidate only if its first violation has the input's kind and site
and it is no larger than the input on any axis (steps to the report,
preemptions, interrupts, CPUs, iterations).  The smallest run's recording
is checked to replay and saved to OUT (``mmstress replay OUT`` redoes it);
if nothing smaller fails the same way, OUT is a copy of the input and the
command says so.  Prints the violation's title, the sizes before and after,
the runs tried and the small run's steps.

The trace is checked as ``mmstress replay`` checks it before anything is
imported (its scenario and workload code: where they are, and unchanged
since the recording); ``--scenario FILE`` and ``--trust`` are replay's.

SIGINT/SIGTERM end the search: OUT gets the smallest run found so far (not
checked to replay: a replay now would be cut short too) or the input, the
command says so, and ``--json`` says ``"interrupted"``.

Exit codes: 0 OUT holds a run that fails the same way (smaller, or the
input), 2 bad usage or a trace that is invalid, changed or not trusted,
3 the trace cannot be used, 130/143 interrupted (OUT written as above).
"""

import os
import shutil
import sys

from harness import signals
from harness.commands.replay import add_trust_arguments
from harness.exits import EXIT_HARNESS, EXIT_OK, EXIT_USAGE, UsageError, interrupted, printable

HELP = "shrink a failing run's schedule, keeping its violation"
EPILOG = None                # the docstring says the exit codes


def _title(violation):
    """The violation's title: its first line that is not a ruler."""
    for line in str(violation.get("title") or violation.get("kind")).splitlines():
        if line.strip() and set(line.strip()) - set("=-"):
            return line.strip()
    return violation.get("kind")


def _n(count, noun):
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _line(s):
    return (f"{_n(s['steps'], 'step')}, {_n(s['preemptions'], 'preemption')}, "
            f"{_n(s['interrupts'], 'interrupt')}, {_n(s['cpus'], 'CPU')} x "
            f"{_n(s['iterations'], 'iteration')}")


def _save_replayable(shrinker, output, log):
    """Save the smallest accepted run whose recording replays; None if none does.
    A stop request (SIGINT/SIGTERM) during the checks raises ``minimize.Interrupted``."""
    from harness.outputs import recording
    from harness.scheduler.trace import TraceError
    from harness.tools import minimize
    for att in reversed(shrinker.accepted):
        recording.save(att.payload, output)
        try:
            trace, res = recording.replay(output, trust=True)    # our own, of a vetted input
        except TraceError as exc:
            log(f"the run of {att.candidate.describe()} cannot be replayed ({exc}); trying the one before")
            continue
        if res.interrupted:
            raise minimize.Interrupted(res.interrupted)
        if recording.reproduced(trace, res):
            return att
        log(f"the run of {att.candidate.describe()} did not replay the same; trying the one before")
    return None


def _save_unchecked(shrinker, output):
    """Interrupted: save the smallest run found so far without replaying it (a replay
    now would be interrupted too); None when nothing smaller was found."""
    from harness.outputs import recording
    if not shrinker.accepted:
        return None
    best = shrinker.accepted[-1]
    recording.save(best.payload, output)
    return best


def main(args):
    from harness.outputs import recording
    from harness.scheduler.trace import BadTrace, TraceError
    from harness.supervisor import machine
    from harness.tools import minimize
    if args.budget < 1:
        raise UsageError(f"--budget {args.budget}: allowed: a positive number of runs")

    def log(s):
        print(printable(f"minimize: {s}"), file=sys.stderr)

    stopped = None
    restore = machine.install_stop_handlers()
    try:
        trace = minimize.load(args.trace, trust=args.trust)
        initial = minimize.initial_attempt(trace)
        sc = recording.scenario_of(trace, args.trace, trust=args.trust, named=args.scenario)
        run = minimize.machine_runner(sc, trace.header["seed"], trace.header.get("irq_mask"))
        shrinker = minimize.Shrinker(initial, run, budget=args.budget, log=log)
        log(f"target {shrinker.target['kind']} at {shrinker.target.get('site')}")
        try:
            shrinker.shrink()
            best = _save_replayable(shrinker, args.output, log) if shrinker.shrunk else None
        except minimize.Interrupted as exc:   # the search ends; the best so far is kept
            stopped = exc.signum
        stopped = stopped or signals.requested()
        if stopped:
            best = _save_unchecked(shrinker, args.output)
    except TraceError as exc:
        print(f"mmstress: {printable(exc, multiline=True)}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, BadTrace) else EXIT_HARNESS
    except minimize.Interrupted as exc:
        print("mmstress: minimize interrupted; nothing saved", file=sys.stderr)
        return interrupted(exc.signum)
    finally:
        restore()
    shown_v = best.violation if best is not None else shrinker.target
    print(printable(_title(shown_v)))           # the trace's header says these: escaped
    print(printable(f"  at {shown_v.get('site')}"))
    before = initial.sizes()
    print(f"before: {_line(before)}")
    if best is None:
        if os.path.abspath(args.trace) != os.path.abspath(args.output):
            shutil.copyfile(args.trace, args.output)
        why = ("interrupted before anything smaller was found" if stopped
               else "smaller runs failed the same way but none of them replayed" if shrinker.shrunk
               else "nothing smaller fails the same way")
        print(f"after:  {why} ({shrinker.runs} runs tried): {args.output} is the input unchanged")
        shown, upto = trace.steps, initial.violation_step
    else:
        after = best.sizes()
        print(f"after:  {_line(after)} ({shrinker.runs} runs tried)")
        smaller = [a for a in minimize.AXES if after[a] < before[a]]
        print(f"smaller in: {', '.join(smaller) or 'steps after the report'}")
        shown, upto = best.steps, best.violation_step
    if upto:
        print(f"steps up to the first report (step {upto:,}):")
    print(minimize.render(shown, upto=upto, tail=args.show))
    print(f"saved: {args.output}\nreproduce: {recording.replay_command(args.output, sc)}")
    code = interrupted(stopped) if stopped else EXIT_OK
    if args.json:
        code = _write_json(args, trace, shrinker, initial, best, stopped, code)
    if stopped:
        print(f"mmstress: minimize interrupted by {signals.name(stopped)} after {shrinker.runs} "
              f"runs; {args.output} holds the smallest run found so far"
              + (" (not checked to replay: mmstress replay --check)" if best is not None else "")
              + ("; partial report written" if args.json else ""), file=sys.stderr)
    return code


def _write_json(args, trace, shrinker, initial, best, stopped, code):
    """The minimize report: the run-report envelope (harness/outputs/report.py, no runs)
    with ``"kind": "minimize"``, the input and output traces, the target violation,
    the sizes before and after, the runs tried, and whether the output was checked
    to replay.  Exit 2 if it cannot be written after all."""
    from harness.outputs import destination, report
    doc = report.document([], "mmstress " + " ".join(args.argv or []), trace.header["seed"],
                          code, signals.name(stopped))
    doc.update({
        "kind": "minimize", "input": args.trace, "output": args.output,
        "target": {k: shrinker.target.get(k) for k in ("kind", "site", "title")},
        "before": initial.sizes(), "after": best.sizes() if best is not None else None,
        "shrunk": best is not None, "checked": best is not None and not stopped,
        "runs_tried": shrinker.runs, "budget": args.budget,
        "reproduce": f"mmstress replay {args.output}",
    })
    try:
        report.write_json(args.json, doc)
    except OSError as exc:
        destination.failed("--json", args.json, exc)
        return EXIT_USAGE
    return code


def arguments(p):
    from harness.outputs.destination import writable
    p.add_argument("trace", help="a trace with a violation (mmstress run --trace, or a failing free run)")
    p.add_argument("-o", "--output", required=True, type=writable,
                   help="where to save the minimal run's trace")
    p.add_argument("--json", metavar="PATH", type=writable, help="write a JSON report: the "
                   "target, the sizes before and after, the runs tried, interrupted or not")
    p.add_argument("--budget", type=int, default=100, help="at most this many runs (default 100)")
    p.add_argument("--show", type=int, default=60, help="steps of the minimal run to print (default 60)")
    add_trust_arguments(p)
