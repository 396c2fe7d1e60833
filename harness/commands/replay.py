"""``mmstress replay TRACE``: redo a recorded run, step by step, and say whether it matched.

The CPUs run one at a time in the recorded order (harness/scheduler/replay.py);
at every yield point the CPU that arrives must be the one the trace names,
doing the same kind of step.  The first mismatch stops the run: "not
replayable", with the step, exit 3.  Otherwise the run ends where the
recording ended and its trace hash (steps + violation kinds) is compared with
the recorded one.

A trace is data someone else may have written: before anything is imported
the scenario and its workload code are checked (harness/outputs/trust.py).
The scenario must be in the library or beside the trace, workload code in the
library, and both unchanged since the recording (the trace carries the
scenario text and the workload modules' sha256).  To run a scenario or
workload from elsewhere, read it first, then name the scenario
(``--scenario FILE``) or pass ``--trust``.

Exit codes: like ``mmstress run`` (0 clean, 1 violations, 3 not replayable);
with ``--check``: 0 the replay reproduced the recording (same hash, same
violation kinds), 1 it ran through but the outcome differs, 3 it diverged or
the trace cannot be used; 2 (with or without ``--check``) a trace that is
invalid, names a changed scenario or workload, or is not trusted.  SIGINT/SIGTERM: 130/143
whatever the rest, and the reports say ``"interrupted"`` (a replay cut short is
neither reproduced nor diverged: no verdict).
"""

import sys

from harness import signals
from harness.exits import (EXIT_HARNESS, EXIT_OK, EXIT_USAGE, EXIT_VIOLATIONS, interrupted,
                           printable)

HELP = "redo a recorded run (a .mmtrace) and check it matches"
EPILOG = None                # the docstring says the exit codes


def main(args):
    from harness.outputs import recording, report
    from harness.supervisor import machine
    from harness.scheduler.trace import BadTrace, TraceError

    def announce(trace):
        h = trace.header
        print(printable(f"mmstress: replaying {args.trace}: {h['scenario']}, seed {h['seed']}, "
                        f"recorded with --sched {h['strategy']}, {len(trace.steps):,} steps, "
                        f"trace hash {h.get('hash')}"), file=sys.stderr)

    restore = machine.install_stop_handlers()
    try:
        trace, res = recording.replay(args.trace, announce, trust=args.trust, named=args.scenario)
    except TraceError as exc:
        print(f"mmstress: {printable(exc, multiline=True)}", file=sys.stderr)
        return EXIT_HARNESS if args.check and not isinstance(exc, BadTrace) else EXIT_USAGE
    finally:
        restore()
    h = trace.header
    res.interrupted = res.interrupted or signals.requested()
    if not args.quiet:
        print(report.summary(report.run_dict(res)), flush=True)
    got = (res.sched or {}).get("hash")
    kinds = recording.violation_kinds(res)
    diverged = any(f["kind"] == "not-replayable" for f in res.failures)
    if diverged:
        verdict, code = "NOT REPLAYABLE: " + next(
            f["message"] for f in res.failures if f["kind"] == "not-replayable"), EXIT_HARNESS
    elif recording.reproduced(trace, res):
        verdict, code = "reproduced: same steps, same violations", EXIT_OK
    else:
        verdict, code = (f"ran through, but the outcome differs: violations {kinds or 'none'} "
                         f"(recorded {h.get('kinds') or 'none'})"), EXIT_VIOLATIONS
    final = (interrupted(res.interrupted) if res.interrupted else code if args.check
             else EXIT_HARNESS if diverged else res.exit_code)
    doc = report.document([res], "mmstress " + " ".join(args.argv or []), h["seed"], final,
                          signals.name(res.interrupted), kind="replay")
    doc["replay"] = {"trace": args.trace, "recorded_hash": h.get("hash"), "hash": got,
                     "recorded_kinds": list(h.get("kinds") or []), "kinds": kinds,
                     "reproduced": code == EXIT_OK and not res.interrupted,
                     "diverged": diverged, "verdict": verdict}
    final = _write(args, doc, final)
    if res.interrupted:
        print(f"mmstress: replay interrupted by {signals.name(res.interrupted)}"
              + ("; partial report written" if args.json or args.junit else ""), file=sys.stderr)
        return final
    print(f"replay: {verdict}; trace hash {got} (recorded {h.get('hash')})")
    return final


def _write(args, doc, code):
    """Write the reports asked for; exit 2 if one cannot be written after all."""
    from harness.outputs import destination, junit, report
    return destination.write_all((("--json", args.json, report.write_json),
                                  ("--junit", args.junit, junit.write_junit)), doc, code, EXIT_USAGE)


def arguments(p):
    from harness.outputs.destination import writable
    p.add_argument("trace", help="a trace saved by `mmstress run --trace` or a failing free run")
    p.add_argument("--check", action="store_true", help="exit 0 only if the recording was reproduced")
    p.add_argument("--json", metavar="PATH", type=writable, help="write the JSON report (kind "
                   "replay: the run and the verdict; harness/outputs/schemas/replay.schema.json)")
    p.add_argument("--junit", metavar="PATH", type=writable, help="write JUnit XML")
    p.add_argument("--quiet", action="store_true", help="no run summary, only the verdict")
    add_trust_arguments(p)


def add_trust_arguments(p):
    """--scenario and --trust: how a user vouches for a trace's scenario and workload code."""
    p.add_argument("--scenario", metavar="FILE", help="replay against this scenario file (or "
                   "library name) instead of the one the trace names; its text and workload "
                   "code must still be the recorded ones, and you vouch for its code")
    p.add_argument("--trust", action="store_true", help="run the scenario and workload code "
                   "the trace names even outside the scenario library (read them first), and "
                   "accept a format-2 trace that carries no hashes")
