"""``mmstress run [SCENARIO ...]``: run scenarios on CPUs as processes; print a summary; write reports.

    mmstress run [SCENARIO ...] [--seed N] [--cpus N] [--duration 10s | --ops N]
                 [--json PATH] [--junit PATH] [--html PATH] [--quiet] [--proc buddyinfo,zoneinfo,slabinfo]
                 [--irq-mask lazy|sigmask] [--sched none|free|random|pct|pos|dfs] [--trace PATH]
                 [--repro] [--failures-dir DIR | --no-failures] [--failures-keep N]

With no scenario it runs ``smoke`` (scenarios/smoke.toml).  The seed is
printed first; each violation is printed as the kernel prints it; the end
summary of each scenario gives the command that reproduces the run.
(The options become scenarios in ``scenarios_of``, which ``mmstress sweep``
shares; the running and reporting is ``harness.tools.run.run_scenarios``.)

Saved failures first: a run that ends with a violation is saved in the
failure database (.mmstress/failures/; see mmstress failures), and the next
mmstress run of the same scenario re-runs it before anything else.  If it
fails again that is the verdict (exit 1) and the runs asked for are not
started; after --failures-keep passes in a row (default 3) it is dropped.
"""

import dataclasses
import os
import shlex
import sys

from harness.exits import UsageError

HELP = "run scenarios on CPUs as processes; print a summary; write JSON/JUnit reports"


def arguments(p):
    from harness.outputs.destination import writable
    from harness.scheduler import options as scheduling
    p.add_argument("scenario", nargs="*", help="scenario names (see `mmstress list`) or .toml "
                   "paths; default: smoke")
    p.add_argument("--seed", type=int, help="the run's seed (default: random, printed)")
    p.add_argument("--cpus", type=int, help="number of CPUs (overrides the scenario)")
    p.add_argument("--duration", help="how long: 10s, 500ms, 2m (overrides the scenario)")
    p.add_argument("--ops", type=int, help="process-context iterations per CPU, instead of a duration")
    p.add_argument("--json", metavar="PATH", type=writable, help="write the JSON report (kind run: harness/outputs/schemas/run.schema.json)")
    p.add_argument("--junit", metavar="PATH", type=writable, help="write JUnit XML, one test case per scenario")
    p.add_argument("--html", metavar="PATH", type=writable, help="write one self-contained HTML "
                   "page: splats, timeline, plots over time (as `mmstress report --html`)")
    p.add_argument("--quiet", action="store_true", help="no progress line and no summary")
    p.add_argument("--proc", metavar="VIEWS", help="print /proc views at the end: "
                   "buddyinfo,zoneinfo,vmstat,slabinfo")
    p.add_argument("--irq-mask", choices=("lazy", "sigmask"), help="how local_irq_save masks "
                   "the interrupt signal (default: the scenario's, lazy)")
    p.add_argument("--sched", default="none", choices=scheduling.STRATEGIES,
                   help="scheduling: none (the OS, nothing recorded; default), free (the OS, "
                   "every yield point recorded for replay), random, pct, pos or dfs (one CPU at a "
                   "time, the same run for the same seed; counts --ops, never time)")
    scheduling.add_arguments(p)
    p.add_argument("--trace", metavar="PATH", type=writable, help="save the run's trace (with --sched); "
                   "free runs with violations save one anyway, named in the report")
    p.add_argument("--repro", action="store_true", help="when an unscheduled run fails, "
                   "search reproducible schedules of the same scenario, seed and CPUs for the "
                   "same violation and print the command that shows it (mmstress repro)")
    p.add_argument("--repro-budget", default="60s", help="how long --repro searches (default 60s)")
    p.add_argument("--check-determinism", action="store_true", help="run twice with the same "
                   "seed and schedule and compare trace hashes; exit 3 naming the first "
                   "differing step if they differ")
    from harness.commands import failures
    failures.add_db_arguments(p)


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
        if not 1 <= args.ops <= scenario.MAX_OPS:
            raise UsageError(f"--ops {args.ops}: allowed: a positive number of iterations per CPU, "
                             f"at most {scenario.MAX_OPS:,}")
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
    from harness.commands import failures as failures_command
    scenarios, views = scenarios_of(args)
    db = failures_command.open_db(args)
    seed = args.seed if args.seed is not None else rng.fresh_seed()
    settings = run.RunSettings(
        sched=args.sched, sched_params=args.sched_params, sched_seed=args.sched_seed,
        repro_budget=args.repro_budget_s, irq_mask=args.irq_mask, proc_views=tuple(views),
        trace=args.trace, quiet=args.quiet, json=args.json, junit=args.junit, html=args.html,
        command="mmstress " + " ".join(shlex.quote(a) for a in (args.argv or [])),
        failures=db, names=tuple(args.scenario or ["smoke"]))
    if db is not None and not args.check_determinism:
        code = saved_failures_first(db, settings, list(zip(settings.names, scenarios)), [seed])
        if code != 0:
            return code
    print(f"mmstress: seed {seed} (repeat with --seed {seed})", file=sys.stderr)
    if args.check_determinism:
        return run.check_determinism(scenarios, seed, settings)
    return run.run_scenarios(scenarios, seed, settings)


def planned_runs(settings, named, seeds):
    """``planned(entry)`` for ``tools.failures.rerun_first``: the entry is one of the runs of
    ``named`` x ``seeds`` with ``settings``, which will run (and count for it) anyway."""
    import os

    from harness.scheduler import options as scheduling
    from harness.tools import failures
    seeds = set(seeds)
    by_source = {}
    for _, sc in named:
        by_source.setdefault(os.path.realpath(sc.source), []).append(sc)

    def planned(entry):
        if entry["seed"] not in seeds:
            return False
        for sc in by_source.get(os.path.realpath(entry["source"]), []):
            opts = scheduling.options_for(settings.sched, sc, sched_seed=settings.sched_seed,
                                          **settings.sched_params)
            if failures.identity_of(sc, entry["seed"], settings.irq_mask, opts) == entry["id"]:
                return True
        return False
    return planned


def saved_failures_first(db, settings, named, seeds):
    """Re-run the saved failures of ``named`` (not one of the runs asked for) before them.

    Returns 0 to go on; otherwise the verdict, said on stderr: a saved failure that fails
    again is this command's result (exit 1, and the runs asked for are not started, as
    Hypothesis stops at a saved example that still fails), a harness failure 3, an
    interruption 130/143.  With --json/--junit the re-runs are the report.
    """
    from harness.outputs import junit, report
    from harness.tools import failures
    code, done = failures.rerun_first(db, named, planned_runs(settings, named, seeds),
                                      quiet=settings.quiet)
    if code == 0:
        return 0
    if code == 1:
        print("mmstress: a saved failure fails again: that is this run's verdict (exit 1); the "
              "runs asked for were not started (fix it first; `mmstress failures` lists the "
              "database, --no-failures runs without it)", file=sys.stderr)
    results = [r.result for r in done if r.result is not None]
    first = next((r for r in done if r.code == code), done[-1])
    doc = report.document(results, settings.command, first.entry["seed"], code)
    if settings.json:
        report.write_json(settings.json, doc)
    if settings.junit:
        junit.write_junit(settings.junit, doc)
    return code
