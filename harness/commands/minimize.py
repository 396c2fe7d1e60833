"""``mmstress minimize TRACE -o OUT``: the smallest run that fails the same way.

Keeps the first violation's kind and site while cutting iterations, CPUs,
interrupts and preemptions (harness/minimize.py), saves the smallest run's
trace to OUT (``mmstress replay OUT`` redoes it), and prints the sizes
before and after and the minimal run's last steps.

Exit codes: 0 a reproducing run was saved, 2 bad usage, 3 the trace cannot be
used or no serialised run reproduced the violation.
"""

import argparse
import sys


def cmd_minimize(args):
    from harness import cli
    from harness.tools import minimize
    from harness.outputs import recording
    from harness.scheduler.trace import TraceError
    if args.budget < 1:
        raise cli.UsageError(f"--budget {args.budget}: allowed: a positive number of runs")
    restore = __import__("harness.supervisor.machine", fromlist=["x"]).install_stop_handlers()
    try:
        trace = minimize.load(args.trace)
        m = minimize.Minimizer(trace, log=lambda s: print(f"minimize: {s}", file=sys.stderr),
                               budget=args.budget)
        print(f"minimize: target {m.target['kind']} at {m.target.get('site')}", file=sys.stderr)
        cand, res = m.shrink()
    except TraceError as exc:
        print(f"mmstress: {exc}", file=sys.stderr)
        return cli.EXIT_HARNESS
    finally:
        restore()
    recording.save(res, args.output)
    upto = (res.sched or {}).get("violation_step")
    before = minimize.sizes(trace.steps[:trace.header.get("violation_step") or None])
    after = minimize.sizes(res.steps[:upto])
    print("sizes up to the first report:")
    print(f"before: {before['steps']:,} steps, {before['cpus']} CPUs, {before['interrupts']} "
          f"interrupts, {before['preemptions']} preemptions")
    print(f"after:  {after['steps']:,} steps, {after['cpus']} CPUs, {after['interrupts']} "
          f"interrupts, {after['preemptions']} preemptions ({m.runs} runs tried)")
    print(f"the minimal run: {cand.describe()}")
    if upto:
        print(f"steps up to the first report (step {upto:,}):")
    print(minimize.render(res.steps, upto=upto, tail=args.show))
    v = res.violations[0] if res.violations else None
    if v:
        print(f"\n{v['title']}\n  at {v.get('site')} (CPU {v['cpu']} {v['context']})")
    print(f"saved: {args.output}\nreproduce: mmstress replay {args.output}")
    return cli.EXIT_OK


def register(sub):
    p = sub.add_parser("minimize", help="shrink a failing run's trace, keeping its violation",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trace", help="a trace with a violation (mmstress run --trace, or a failing free run)")
    p.add_argument("-o", "--output", required=True, help="where to save the minimal run's trace")
    p.add_argument("--budget", type=int, default=60, help="at most this many runs (default 60)")
    p.add_argument("--show", type=int, default=60, help="steps of the minimal run to print (default 60)")
    p.set_defaults(func=cmd_minimize)
