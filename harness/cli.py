"""The ``mmstress`` command line.

    mmstress run [SCENARIO ...] [--seed N] [--cpus N] [--duration 10s | --ops N]
                 [--json PATH] [--junit PATH] [--quiet] [--proc buddyinfo,zoneinfo,slabinfo]
                 [--irq-mask lazy|sigmask]
    mmstress list
    mmstress demo

Exit codes (every command): 0 clean, 1 violations found, 2 bad usage or a bad
scenario, 3 the harness itself failed.  Bad input is one clear message on
stderr, never a traceback.
"""

import argparse
import dataclasses
import os
import shlex
import signal
import sys

from kernel_model import ModelError

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE, EXIT_HARNESS = 0, 1, 2, 3


EXIT_HELP = """exit codes:
  0    clean: every scenario ran to the end with no violation
  1    violations found (a checker fired, a workload raised, the model's invariants broke)
  2    bad usage or a bad scenario (the message names the file, line and key)
  3    the harness itself failed: a CPU died, a soft lockup, a timeout
  130  interrupted by Ctrl-C (SIGINT), 143 by SIGTERM; the report is still written
"""


class UsageError(Exception):
    """Bad command-line input; the message is all the user sees (exit 2)."""


def cmd_list(args):
    """List the scenarios (the embedded default and scenarios/*.toml) with one line each."""
    from harness import scenario
    rows = scenario.available()
    width = max(len(name) for name, _ in rows)
    for name, desc in rows:
        print(f"{name:<{width}}  {desc}")
    return EXIT_OK


def _parse_run_args(args):
    from harness.supervisor import machine
    from harness import scenario
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
    if args.repro and args.sched != "none":
        raise UsageError(f"--repro: for --sched none runs (a --sched {args.sched} run's reproduce "
                         "line already redoes it)")
    if args.repro:
        from harness.commands.explore import parse_budget
        try:
            args.repro_budget_s = parse_budget(args.repro_budget)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.trace and args.sched == "none":
        args.sched = "free"                  # a trace needs a recording schedule
    views = [v for v in (args.proc or "").split(",") if v]
    for v in views:
        if v not in machine.PROC_VIEWS:
            raise UsageError(f"--proc {v}: allowed: {', '.join(machine.PROC_VIEWS)}")
    scenarios = [dataclasses.replace(scenario.resolve(name), **over)
                 for name in (args.scenario or ["smoke"])]
    return scenarios, views


def check_determinism(args, scenarios, seed):
    """Run each scenario twice with the same seed and schedule; compare trace hashes."""
    from harness.supervisor import machine
    from harness.scheduler import options as scheduling
    from harness.scheduler.trace import first_difference
    from harness.scheduler.base import YIELD_KINDS
    strategy = args.sched if args.sched not in ("none", "free") else "random"
    if args.sched in ("none", "free"):
        print(f"mmstress: --check-determinism needs a serialised schedule; using --sched {strategy}",
              file=sys.stderr)
    code = EXIT_OK
    for sc in scenarios:
        runs = []
        for attempt in (1, 2):
            params = args.sched_params if strategy == args.sched else {}
            opts = scheduling.options_for(strategy, sc, sched_seed=args.sched_seed, **params)
            res = machine.run(sc, seed, irq_mask=args.irq_mask, sched=opts)
            if res.interrupted:
                return 128 + res.interrupted
            runs.append(res)
        a, b = runs
        ha, hb = (a.sched or {}).get("hash"), (b.sched or {}).get("hash")
        if ha and ha == hb:
            print(f"{sc.name}: deterministic: seed {seed}, --sched {strategy}, "
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
        print(f"{sc.name}: NOT deterministic: seed {seed}, --sched {strategy}: trace hashes "
              f"{ha} and {hb}; {where}")
    return code


def cmd_run(args):
    """Run scenarios on CPUs as processes; print a summary; write JSON/JUnit reports."""
    from harness.outputs import junit, recording, report
    from harness.supervisor import machine
    from harness.runtime import rng
    from harness import scenario
    from harness.scheduler import options as scheduling
    try:
        scenarios, views = _parse_run_args(args)
    except scenario.ScenarioError as exc:
        raise UsageError(str(exc)) from None
    seed = args.seed if args.seed is not None else rng.fresh_seed()
    command = "mmstress " + " ".join(shlex.quote(a) for a in (args.argv or []))
    print(f"mmstress: seed {seed} (repeat with --seed {seed})", file=sys.stderr)
    live = sys.stderr.isatty() and not args.quiet

    def progress(line):
        sys.stderr.write("\r" + line + "\033[K")
        sys.stderr.flush()

    results, code, interrupted = [], EXIT_OK, None
    restore = machine.install_stop_handlers()
    if args.check_determinism:
        try:
            return check_determinism(args, scenarios, seed)
        finally:
            restore()
    try:
        for sc in scenarios:
            opts = scheduling.options_for(args.sched, sc, sched_seed=args.sched_seed,
                                          **args.sched_params)
            path = args.trace
            if path and len(scenarios) > 1:
                root, ext = os.path.splitext(path)
                path = f"{root}-{sc.name}{ext or '.mmtrace'}"
            res = machine.run(sc, seed, irq_mask=args.irq_mask, proc_views=views,
                              progress=progress if live else None, sched=opts)
            if opts.strategy == "free" and not path and res.exit_code == EXIT_VIOLATIONS:
                path = recording.default_path(res.scenario, seed)   # a free run's only way back
            if path and opts.active:
                recording.save(res, path)
            if live:
                sys.stderr.write("\r\033[K")
            results.append(res)
            if not args.quiet:
                print(report.summary(report.run_dict(res)), flush=True)
            if res.interrupted:
                interrupted = res.interrupted
                break
    except Exception:  # noqa: BLE001 - the harness's own bug: report what we have, exit 3
        import traceback
        traceback.print_exc()
        code = EXIT_HARNESS
    finally:
        restore()
    if code != EXIT_HARNESS:
        codes = [r.exit_code for r in results]
        if EXIT_HARNESS in codes:
            code = EXIT_HARNESS
        elif interrupted:
            code = 128 + interrupted
        elif EXIT_VIOLATIONS in codes:
            code = EXIT_VIOLATIONS
    doc = report.document(results, command, seed, code,
                          signal.Signals(interrupted).name if interrupted else None)
    if args.json:
        report.write_json(args.json, doc)
    if args.junit:
        junit.write_junit(args.junit, doc)
    if args.repro and not interrupted and code == EXIT_VIOLATIONS:
        from harness.commands.repro import search_and_print
        for res in results:
            if res.exit_code == EXIT_VIOLATIONS and res.violations:
                rc = search_and_print(res.scenario, res.seed, res.violations[0], args.repro_budget_s)
                if rc > 1:
                    interrupted = rc - 128
                    code = rc
                    break
    if interrupted:
        print(f"mmstress: interrupted by {signal.Signals(interrupted).name}; "
              "partial report written" if args.json or args.junit else
              f"mmstress: interrupted by {signal.Signals(interrupted).name}", file=sys.stderr)
    return code


def cmd_demo(args):
    """Boot a model, allocate a little, print /proc/buddyinfo and /proc/zoneinfo."""
    import kernel_model as km
    with km.boot(km.MemoryLayout(args.arch, total=args.memory, page_size=args.page_size),
                 nr_cpus=1) as node:
        print(f"# booted {node.layout.describe()}: {node.nr_pages} pages, "
              f"min_free_kbytes {node.min_free_kbytes}")
        pages = [km.alloc_pages(km.GFP_KERNEL, order) for order in (0, 1, 2, 3, 5)]
        print("$ cat /proc/buddyinfo")
        print(km.procfs.buddyinfo(node), end="")
        print("$ cat /proc/zoneinfo")
        print(km.procfs.zoneinfo(node), end="")
        for order, page in zip((0, 1, 2, 3, 5), pages):
            km.__free_pages(page, order)
    return EXIT_OK


def build_parser():
    from harness.scheduler import options as scheduling
    parser = argparse.ArgumentParser(prog="mmstress", description=__doc__.splitlines()[0],
                                     epilog=EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help=cmd_run.__doc__, description=cmd_run.__doc__, epilog=EXIT_HELP,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("scenario", nargs="*", help="scenario names (see `mmstress list`) or .toml "
                     "paths; default: smoke")
    run.add_argument("--seed", type=int, help="the run's seed (default: random, printed)")
    run.add_argument("--cpus", type=int, help="number of CPUs (overrides the scenario)")
    run.add_argument("--duration", help="how long: 10s, 500ms, 2m (overrides the scenario)")
    run.add_argument("--ops", type=int, help="process-context iterations per CPU, instead of a duration")
    run.add_argument("--json", metavar="PATH", help="write the JSON report (harness/outputs/report.schema.json)")
    run.add_argument("--junit", metavar="PATH", help="write JUnit XML, one test case per scenario")
    run.add_argument("--quiet", action="store_true", help="no progress line and no summary")
    run.add_argument("--proc", metavar="VIEWS", help="print /proc views at the end: "
                     "buddyinfo,zoneinfo,slabinfo")
    run.add_argument("--irq-mask", choices=("lazy", "sigmask"), help="how local_irq_save masks "
                     "the interrupt signal (default: the scenario's, lazy)")
    run.add_argument("--sched", default="none", choices=scheduling.STRATEGIES,
                     help="scheduling: none (the OS, nothing recorded; default), free (the OS, "
                     "every yield point recorded for replay), random, pct, pos or dfs (one CPU at a "
                     "time, the same run for the same seed; counts --ops, never time)")
    scheduling.add_arguments(run)
    run.add_argument("--trace", metavar="PATH", help="save the run's trace (with --sched); "
                     "free runs with violations save one anyway, named in the report")
    run.add_argument("--repro", action="store_true", help="when an unscheduled run fails, "
                     "search reproducible schedules of the same scenario, seed and CPUs for the "
                     "same violation and print the command that shows it (mmstress repro)")
    run.add_argument("--repro-budget", default="60s", help="how long --repro searches (default 60s)")
    run.add_argument("--check-determinism", action="store_true", help="run twice with the same "
                     "seed and schedule and compare trace hashes; exit 3 naming the first "
                     "differing step if they differ")
    run.set_defaults(func=cmd_run)
    lst = sub.add_parser("list", help=cmd_list.__doc__)
    lst.set_defaults(func=cmd_list)
    demo = sub.add_parser("demo", help=cmd_demo.__doc__)
    demo.add_argument("--arch", default="x86_64", choices=("x86_64", "x86_32"))
    demo.add_argument("--memory", default="1G", help="total memory, e.g. 1G, 512M")
    demo.add_argument("--page-size", type=int, default=4096, choices=(4096, 8192))
    demo.set_defaults(func=cmd_demo)
    for module in command_modules():
        module.register(sub)
    return parser


def command_modules():
    """Every ``harness/commands/<name>.py``: each adds its subcommand with ``register(sub)``.

    A command's function takes the parsed args and returns an exit code; it
    raises ``UsageError`` for bad input.  One command to a file.
    """
    import importlib
    import pkgutil
    from harness import commands
    return [importlib.import_module(f"harness.commands.{m.name}")
            for m in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name)
            if not m.name.startswith("_")]


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.func(args)
    except (UsageError, ModelError) as exc:
        print(f"mmstress: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mmstress: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
