"""``mmstress explore SCENARIO --strategy random|pct|pos|dfs``: run executions until one fails.

Each execution is one serialised run; the explorer (harness/tools/explore.py)
keeps what it learnt between them: PCT measures k from the runs it has seen,
DFS walks every schedule with at most --preemptions preemptions (fewest
first) and can checkpoint its frontier to a file and resume from it.  The
search stops at the first violation (of --kind, if given), at the budget
(--budget 60s, --runs N) or, for dfs, when the space is exhausted.  A
failing execution is printed as the one command that redoes it.

Exit codes: 0 no violation found (the budget ran out, or dfs exhausted its
space), 1 a violation found (the reproduce command printed), 2 bad usage,
3 the harness failed; 130/143 interrupted.
"""

import dataclasses
import sys

from harness.exits import EXIT_HARNESS, EXIT_OK, EXIT_VIOLATIONS, UsageError

HELP = ("run executions of a scenario until one fails, keeping "
        "state across them (random, pct, pos, dfs)")
EPILOG = None                # the docstring says the exit codes


def parse_budget(text):
    from harness import scenario
    try:
        return scenario.parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"--budget {text!r}: allowed: {exc}") from None


def scenario_for(args):
    """The scenario with --cpus/--ops applied, as a serialised run counts it."""
    from harness import scenario
    from harness.scheduler import options as scheduling
    try:
        sc = scenario.resolve(args.scenario)
    except scenario.ScenarioError as exc:
        raise UsageError(str(exc)) from None
    over = {"duration": None}
    if args.cpus is not None:
        if not 1 <= args.cpus <= scenario.MAX_CPUS:
            raise UsageError(f"--cpus {args.cpus}: allowed 1 to {scenario.MAX_CPUS}")
        over["cpus"] = args.cpus
    if args.ops is not None and args.ops < 1:
        raise UsageError(f"--ops {args.ops}: allowed: a positive number of iterations per CPU")
    over["ops"] = args.ops or sc.ops or scheduling.SERIAL_DEFAULT_OPS
    return dataclasses.replace(sc, **over)


def main(args):
    from harness.checkers.kinds import KINDS
    from harness.outputs import recording
    from harness.scheduler import options as scheduling
    from harness.supervisor import machine
    from harness.tools import explore
    sc = scenario_for(args)
    if args.seed < 0:
        raise UsageError(f"--seed {args.seed}: allowed: an integer >= 0")
    if args.runs is not None and args.runs < 1:
        raise UsageError(f"--runs {args.runs}: allowed: a positive number of executions")
    if args.preemptions < 0:
        raise UsageError(f"--preemptions {args.preemptions}: allowed: an integer >= 0")
    if args.kind is not None and args.kind not in KINDS:
        raise UsageError(f"--kind {args.kind}: not a violation kind; see `mmstress explain`")
    if args.checkpoint and args.strategy != "dfs":
        raise UsageError("--checkpoint: only --strategy dfs keeps a frontier to resume")
    try:
        budget = parse_budget(args.budget) if args.budget else (None if args.runs else 60.0)
        params, sched_seed = scheduling.params_from_args(args, args.strategy)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if sched_seed is not None:
        raise UsageError("--sched-seed: explore chooses the seeds (--seed is the first)")
    if args.strategy == "dfs" and params:
        raise UsageError("--schedule: dfs explores the schedules itself")
    state = None
    ident = None
    try:
        ex = explore.make_explorer(args.strategy, sc, args.seed, params, bound=args.preemptions)
        if args.checkpoint:
            ident = explore.checkpoint_identity(ex)
            state = explore.load_checkpoint(args.checkpoint, ident)
            if state is not None:
                ex.restore(state)
                print(f"explore: resuming {args.checkpoint}: {ex.status()}", file=sys.stderr)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    what = f"{recording.portable_source(sc)}, {sc.cpus} CPUs x {sc.ops} iterations"
    print(f"explore: {what}, --strategy {args.strategy}"
          + (f", at most {args.preemptions} preemptions" if args.strategy == "dfs" else "")
          + (f", looking for {args.kind}" if args.kind else ""), file=sys.stderr)
    restore = machine.install_stop_handlers()
    try:
        out = explore.explore(ex, budget_s=budget, runs=args.runs, kind=args.kind,
                              log=lambda s: print(f"explore: {s}", file=sys.stderr),
                              checkpoint=args.checkpoint)
    finally:
        restore()
    if out.interrupted:
        print(f"explore: interrupted after {out.executions} executions: {ex.status()}", file=sys.stderr)
        return 128 + out.interrupted
    if out.broken:
        execution, result = out.broken
        what = (result.failures or [{}])[0]
        print(f"explore: the harness failed in execution {out.executions}: "
              f"{what.get('kind')}: {what.get('message')}", file=sys.stderr)
        print(f"reproduce: {explore.reproduce_command(sc, execution)}")
        return EXIT_HARNESS
    if out.found:
        execution, result = out.found
        v = explore.same_violation(result, args.kind) or (result.violations or [None])[0]
        if v is not None:
            print(v.get("title") or v["kind"])     # a record: its text is rendered, not stored
            print(f"  at {v.get('site')} (CPU {v['cpu']} {v['context']})")
        else:
            print(f"failed: {(result.failures or [{}])[0].get('message', 'exit 1')}")
        if args.strategy == "dfs":
            print(f"dfs: {ex.status()}; this schedule has {execution.preemptions} preemptions")
        print(f"found after {out.executions} executions in {out.seconds:.1f} s ({ex.status()})")
        if args.trace:
            recording.save(result, args.trace)
            print(f"saved: {args.trace} (mmstress replay {args.trace})")
        print(f"reproduce: {explore.reproduce_command(sc, execution)}")
        return EXIT_VIOLATIONS
    if out.exhausted:
        print(f"exhausted: no violation within {args.preemptions} preemptions: {ex.status()} "
              f"({out.seconds:.1f} s)")
        return EXIT_OK
    print(f"no violation in {out.executions} executions ({out.seconds:.1f} s): {ex.status()}"
          + (f"; resume with --checkpoint {args.checkpoint}" if args.checkpoint else ""))
    return EXIT_OK


def arguments(p):
    from harness.outputs.destination import writable
    from harness.scheduler import options as scheduling
    from harness.tools.explore import EXPLORERS
    p.add_argument("scenario", help="a scenario name (see `mmstress list`) or a .toml path")
    p.add_argument("--strategy", default="pos", choices=EXPLORERS, help="default pos")
    p.add_argument("--budget", help="stop after this long: 60s, 5m (default 60s unless --runs)")
    p.add_argument("--runs", type=int, help="stop after this many executions")
    p.add_argument("--seed", type=int, default=1, help="the first execution's seed (default 1; "
                   "random, pct and pos add one per execution, dfs keeps it)")
    p.add_argument("--cpus", type=int, help="number of CPUs (overrides the scenario)")
    p.add_argument("--ops", type=int, help="iterations per CPU (default: the scenario's, or 300)")
    p.add_argument("--kind", help="only a violation of this kind counts (e.g. deadlock)")
    p.add_argument("--preemptions", type=int, default=2, help="dfs: at most this many "
                   "preemptions (default 2)")
    p.add_argument("--checkpoint", metavar="FILE", type=writable, help="dfs: save the search's frontier here "
                   "after each execution; an existing file of the same search is resumed")
    p.add_argument("--trace", metavar="PATH", type=writable,
                   help="also save the failing execution's trace")
    scheduling.add_arguments(p)
