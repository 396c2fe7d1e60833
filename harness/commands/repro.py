"""``mmstress repro REPORT.json``: a deterministic command for a parallel run's failure.

An unscheduled (``--sched none``) run that failed fixes each CPU's operations
(the seed) but not the interleaving, which was the OS's.  This searches
reproducible schedules of the same scenario, seed and CPU count -- POS, PCT
with k measured, and random in turn, varying only the schedule's own seed
(``--sched-seed``) -- for the same violation (kind and site), within a
budget, and prints the one command that shows it every time, or says plainly
that none was found in the budget (as syzkaller's repro does).
``mmstress run ... --repro`` does the same right after a failing run.

A report is data someone else may have written: the scenario it names runs
only if it is in the library or beside the report, and its workload code only
if it is in the library (harness/outputs/trust.py), unless ``--trust``.

Exit codes: 0 a reproducing schedule was found (its command printed), 1 none
found within the budget, 2 bad usage or a report that cannot be used or trusted,
130/143 interrupted.
"""

import dataclasses
import json

DEFAULT_BUDGET = "60s"
MAX_REPORT_BYTES = 256 << 20       # a sweep of thousands of runs stays far below

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


def _check_run(run, where):
    """UsageError unless a report's run has the fields repro uses, of the right types."""
    from harness import scenario
    ok = (isinstance(run.get("source"), str) and len(run["source"]) <= 4096
          and isinstance(run.get("seed"), int) and not isinstance(run["seed"], bool)
          and 0 <= run["seed"] < 2**63
          and isinstance(run.get("cpus"), int) and 1 <= run["cpus"] <= scenario.MAX_CPUS
          and isinstance(run["violations"], list) and isinstance(run["violations"][0], dict))
    if not ok:
        raise UsageError(f"{where}: a failing run's source, seed, cpus or violations are not "
                         "what mmstress run --json writes")


def main(args):
    from harness import scenario
    from harness.commands.explore import parse_budget
    from harness.outputs import trust
    from harness.scenario.files import InputFileError, read_input
    from harness.scheduler.trace import BadTrace
    try:
        doc = json.loads(read_input(args.report, MAX_REPORT_BYTES, "JSON report"))
    except InputFileError as exc:
        raise UsageError(str(exc)) from None
    except (ValueError, RecursionError):
        raise UsageError(f"{args.report} is not a JSON report (mmstress run --json)") from None
    if not isinstance(doc, dict) or doc.get("tool") != "mmstress" or not isinstance(
            doc.get("runs", []), list) or not all(isinstance(r, dict) for r in doc.get("runs", [])):
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
        _check_run(run, args.report)
        try:
            path = trust.vet_report_run(run["source"], args.report, trust=args.trust)
            sc = scenario.load(path)
        except BadTrace as exc:
            raise UsageError(str(exc)) from None
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
    p.add_argument("--trust", action="store_true", help="run the scenario and workload code the "
                   "report names even outside the scenario library (read them first)")
