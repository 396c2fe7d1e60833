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

import dataclasses
import json

DEFAULT_BUDGET = "60s"

from harness.exits import UsageError

HELP = ("find a deterministic command for an unscheduled run's "
        "violation (from its JSON report)")
EPILOG = None                # the docstring says the exit codes


def failing_runs(doc):
    """(scenario, seed, cpus, first violation) of each unscheduled failing run in a report."""
    out = []
    for run in doc.get("runs", []):
        if run.get("exit_code") != 1 or run.get("sched") or not run.get("violations"):
            continue
        out.append(run)
    return out


def main(args):
    from harness import scenario
    from harness.commands.explore import parse_budget
    try:
        with open(args.report) as f:
            doc = json.load(f)
    except OSError as exc:
        raise UsageError(f"cannot read {args.report}: {exc.strerror}") from None
    except ValueError:
        raise UsageError(f"{args.report} is not a JSON report (mmstress run --json)") from None
    if not isinstance(doc, dict) or doc.get("tool") != "mmstress":
        raise UsageError(f"{args.report} is not an mmstress report (mmstress run --json)")
    try:
        budget = parse_budget(args.budget)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    runs = failing_runs(doc)
    if not runs:
        raise UsageError(f"{args.report} has no unscheduled run with a violation: nothing to "
                             "reproduce (a scheduled run's 'reproduce' line already redoes it)")
    code = 0
    for run in runs:
        source = run["source"]
        try:
            sc = scenario.resolve("smoke" if source == "<embedded smoke>" else source)
        except scenario.ScenarioError as exc:
            raise UsageError(f"{args.report}: its scenario cannot be loaded: {exc}") from None
        sc = dataclasses.replace(sc, cpus=run["cpus"])
        from harness.tools import explore    # not at import: `mmstress --help` stays light
        rc = explore.search_and_print(sc, run["seed"], run["violations"][0], budget, args.runs)
        if rc > 1:
            return rc
        code = max(code, rc)
    return code


def arguments(p):
    p.add_argument("report", help="a JSON report (mmstress run --json) of a failing run")
    p.add_argument("--budget", default=DEFAULT_BUDGET, help="search this long (default 60s)")
    p.add_argument("--runs", type=int, help="and at most this many schedules")
