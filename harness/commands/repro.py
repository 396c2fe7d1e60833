"""``mmstress repro REPORT.json``: a deterministic command for a parallel run's failure.

An unscheduled (``--sched none``) run that failed fixes each CPU's operations
(the seed) but not the interleaving, which was the OS's.  This searches
reproducible schedules of the same scenario, seed and CPU count -- POS, PCT
with k measured, and random in turn, varying only the schedule's own seed
(``--sched-seed``) -- for the same violation (kind and site), within a
budget, and prints the one command that shows it every time, or says plainly
that none was found in the budget (as syzkaller's repro does).
``mmstress run ... --repro`` does the same right after a failing run.

Exit codes: 0 a reproducing schedule was found (its command printed), 1 none
found within the budget, 2 bad usage or a report that cannot be used,
130/143 interrupted.
"""

import argparse
import dataclasses
import json
import sys

DEFAULT_BUDGET = "60s"


def search_and_print(sc, seed, violation, budget_s, runs=None):
    """Search for ``violation`` (a report's dict: kind, site, title); print the outcome.
    Returns the exit code (0 found, 1 not found, 128+n interrupted)."""
    from harness.supervisor import machine
    from harness.tools import explore
    kind, site = violation.get("kind"), violation.get("site")
    print(f"repro: {sc.name}, seed {seed}, {sc.cpus} CPUs: searching schedules for {kind} at "
          f"{site} (budget {budget_s:g} s{f', {runs} runs' if runs else ''})", file=sys.stderr)
    restore = machine.install_stop_handlers()
    try:
        out = explore.repro(sc, seed, kind, site, budget_s=budget_s, runs=runs,
                            log=lambda s: print(f"repro: {s}", file=sys.stderr))
    finally:
        restore()
    if out.interrupted:
        return 128 + out.interrupted
    if out.found is None:
        print(f"repro: no reproducible schedule showed {kind} at {site} in {out.executions} "
              f"schedules ({out.seconds:.0f} s); the failure stays a parallel-run one: rerun with "
              "a larger --budget, or record the interleaving with --sched free")
        return 1
    execution, result = out.found
    serial = dataclasses.replace(sc, ops=result.scenario.ops, duration=None)
    print(f"repro: {kind} at {site} reproduced by schedule {out.executions} "
          f"({out.seconds:.1f} s, --sched {execution.opts.strategy})")
    print(f"reproduce: {explore.reproduce_command(serial, execution)}")
    return 0


def failing_runs(doc):
    """(scenario, seed, cpus, first violation) of each unscheduled failing run in a report."""
    out = []
    for run in doc.get("runs", []):
        if run.get("exit_code") != 1 or run.get("sched") or not run.get("violations"):
            continue
        out.append(run)
    return out


def cmd_repro(args):
    from harness import cli, scenario
    from harness.commands.explore import parse_budget
    try:
        with open(args.report) as f:
            doc = json.load(f)
    except OSError as exc:
        raise cli.UsageError(f"cannot read {args.report}: {exc.strerror}") from None
    except ValueError:
        raise cli.UsageError(f"{args.report} is not a JSON report (mmstress run --json)") from None
    if not isinstance(doc, dict) or doc.get("tool") != "mmstress":
        raise cli.UsageError(f"{args.report} is not an mmstress report (mmstress run --json)")
    try:
        budget = parse_budget(args.budget)
    except ValueError as exc:
        raise cli.UsageError(str(exc)) from None
    runs = failing_runs(doc)
    if not runs:
        raise cli.UsageError(f"{args.report} has no unscheduled run with a violation: nothing to "
                             "reproduce (a scheduled run's 'reproduce' line already redoes it)")
    code = 0
    for run in runs:
        source = run["source"]
        try:
            sc = scenario.resolve("smoke" if source == "<embedded smoke>" else source)
        except scenario.ScenarioError as exc:
            raise cli.UsageError(f"{args.report}: its scenario cannot be loaded: {exc}") from None
        sc = dataclasses.replace(sc, cpus=run["cpus"])
        rc = search_and_print(sc, run["seed"], run["violations"][0], budget, args.runs)
        if rc > 1:
            return rc
        code = max(code, rc)
    return code


def register(sub):
    p = sub.add_parser("repro", help="find a deterministic command for an unscheduled run's "
                       "violation (from its JSON report)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("report", help="a JSON report (mmstress run --json) of a failing run")
    p.add_argument("--budget", default=DEFAULT_BUDGET, help="search this long (default 60s)")
    p.add_argument("--runs", type=int, help="and at most this many schedules")
    p.set_defaults(func=cmd_repro)
