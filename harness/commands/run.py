"""``mmstress run [SCENARIO ...]``: run scenarios on CPUs as processes; print a summary; write reports.

    mmstress run [SCENARIO ...] [--seed N] [--cpus N] [--duration 10s | --ops N]
                 [--json PATH] [--junit PATH] [--html PATH] [--quiet] [--proc buddyinfo,zoneinfo,slabinfo]
                 [--irq-mask lazy|sigmask] [--sched none|free|random|pct|pos|dfs] [--trace PATH]
                 [--repro]

With no scenario it runs ``smoke`` (scenarios/smoke.toml).  This module
checks the options and turns them into scenarios (``scenarios_of``, which
``mmstress sweep`` uses too); the running and reporting is
``harness.tools.run.run_scenarios``.
"""

import dataclasses
import os
import shlex
import sys

from harness.exits import UsageError

HELP = "run scenarios on CPUs as processes; print a summary; write JSON/JUnit reports"


def arguments(p):
    from harness.scheduler import options as scheduling
    p.add_argument("scenario", nargs="*", help="scenario names (see `mmstress list`) or .toml "
                   "paths; default: smoke")
    p.add_argument("--seed", type=int, help="the run's seed (default: random, printed)")
    p.add_argument("--cpus", type=int, help="number of CPUs (overrides the scenario)")
    p.add_argument("--duration", help="how long: 10s, 500ms, 2m (overrides the scenario)")
    p.add_argument("--ops", type=int, help="process-context iterations per CPU, instead of a duration")
    p.add_argument("--json", metavar="PATH", help="write the JSON report (harness/outputs/report.schema.json)")
    p.add_argument("--junit", metavar="PATH", help="write JUnit XML, one test case per scenario")
    p.add_argument("--html", metavar="PATH", help="write one self-contained HTML page: splats, "
                   "timeline, plots over time (as `mmstress report --html`)")
    p.add_argument("--quiet", action="store_true", help="no progress line and no summary")
    p.add_argument("--proc", metavar="VIEWS", help="print /proc views at the end: "
                   "buddyinfo,zoneinfo,slabinfo")
    p.add_argument("--irq-mask", choices=("lazy", "sigmask"), help="how local_irq_save masks "
                   "the interrupt signal (default: the scenario's, lazy)")
    p.add_argument("--sched", default="none", choices=scheduling.STRATEGIES,
                   help="scheduling: none (the OS, nothing recorded; default), free (the OS, "
                   "every yield point recorded for replay), random, pct, pos or dfs (one CPU at a "
                   "time, the same run for the same seed; counts --ops, never time)")
    scheduling.add_arguments(p)
    p.add_argument("--trace", metavar="PATH", help="save the run's trace (with --sched); "
                   "free runs with violations save one anyway, named in the report")
    p.add_argument("--repro", action="store_true", help="when an unscheduled run fails, "
                   "search reproducible schedules of the same scenario, seed and CPUs for the "
                   "same violation and print the command that shows it (mmstress repro)")
    p.add_argument("--repro-budget", default="60s", help="how long --repro searches (default 60s)")
    p.add_argument("--check-determinism", action="store_true", help="run twice with the same "
                   "seed and schedule and compare trace hashes; exit 3 naming the first "
                   "differing step if they differ")


def scenarios_of(args):
    """The checked options -> ([Scenario with the overrides applied], proc views).

    Raises ``UsageError`` naming the option and what is allowed.
    """
    from harness import scenario
    from harness.supervisor import machine
    over = {}
    if args.cpus is not None:
        if not 1 <= args.cpus <= scenario.MAX_CPUS:
            raise UsageError(f"--cpus {args.cpus}: allowed 1 to {scenario.MAX_CPUS}")
        over["cpus"] = args.cpus
    if args.duration is not None and args.ops is not None:
        raise UsageError("give either --duration or --ops, not both")
    if args.duration is not None:
        try:
            over["duration"], over["ops"] = scenario.parse_duration(args.duration), None
        except ValueError as exc:
            raise UsageError(f"--duration {args.duration!r}: allowed: {exc}") from None
    if args.ops is not None:
        if args.ops < 1:
            raise UsageError(f"--ops {args.ops}: allowed: a positive number of iterations per CPU")
        over["ops"], over["duration"] = args.ops, None
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed {args.seed}: allowed: an integer >= 0")
    from harness.scheduler import options as scheduling
    try:
        args.sched_params, args.sched_seed = scheduling.params_from_args(args, args.sched)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    args.repro_budget_s = None
    if args.repro and args.sched != "none":
        raise UsageError(f"--repro: for --sched none runs (a --sched {args.sched} run's reproduce "
                         "line already redoes it)")
    if args.repro:
        from harness.commands.explore import parse_budget
        try:
            args.repro_budget_s = parse_budget(args.repro_budget)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.html and not os.path.isdir(os.path.dirname(os.path.abspath(args.html))):
        raise UsageError(f"--html {args.html}: no such directory for the page")
    views = [v for v in (args.proc or "").split(",") if v]
    for v in views:
        if v not in machine.PROC_VIEWS:
            raise UsageError(f"--proc {v}: allowed: {', '.join(machine.PROC_VIEWS)}")
    try:
        scenarios = [dataclasses.replace(scenario.resolve(name), **over)
                     for name in (args.scenario or ["smoke"])]
    except scenario.ScenarioError as exc:
        raise UsageError(str(exc)) from None
    return scenarios, views


def main(args):
    from harness import rng
    from harness.tools import run
    if args.trace and args.sched == "none":
        args.sched = "free"                  # a trace needs a recording schedule
    scenarios, views = scenarios_of(args)
    seed = args.seed if args.seed is not None else rng.fresh_seed()
    print(f"mmstress: seed {seed} (repeat with --seed {seed})", file=sys.stderr)
    settings = run.RunSettings(
        sched=args.sched, sched_params=args.sched_params, sched_seed=args.sched_seed,
        repro_budget=args.repro_budget_s, irq_mask=args.irq_mask, proc_views=tuple(views),
        trace=args.trace, quiet=args.quiet, json=args.json, junit=args.junit, html=args.html,
        command="mmstress " + " ".join(shlex.quote(a) for a in (args.argv or [])))
    if args.check_determinism:
        return run.check_determinism(scenarios, seed, settings)
    return run.run_scenarios(scenarios, seed, settings)
