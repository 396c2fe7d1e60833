"""``mmstress bench``: how fast the model and the harness are, measured in one run.

Prints the machine (cores, Python) and one row per measurement: the value,
its target and PASS or MISS.  Speed is measured, never asserted: the exit
code is 0 whatever the figures (3 only if a measurement could not be taken;
its row says ERROR and why).  The rows (harness/tools/bench.py):

  the Python floor: the SLUB fast path's bare shared-memory loads and
    stores in a plain loop (a reference, not a target)
  kmalloc(64)+kfree pairs/s per CPU (1 CPU, and 2 CPUs at once)   >= 100,000
  SLUB, SLAB and sheaves fast-path time as a multiple of the floor <= 3x
  locked slow/fast path cost of SLUB's alloc and free             >= 3x
    (free's lock-free slow path, a cmpxchg on the slab, shown too) >= 1x
  SLUB/SLAB pairs/s                                               >= 1x
  checker overhead: smoke, every checker vs none, same work       <= 1.5x
  2 vs 1 CPUs on a per-CPU-local workload, none (Hoard's ideal: 2x) >= 1.9x
  --sched random, 2 CPUs / none, 1 CPU, the same total work       >= 0.7x
  --sched free, 2 CPUs / none, 1 CPU, the same total work         >= 0.5x
    (a recorded run runs one CPU at a time: one core is its ceiling)
  shared accesses as points: --sched random / none, same work     >= 0.3x
  boot time and metadata bytes per page, 1 GiB and 4 GiB models   <= 1 s, 2 s; <= 64 B

On a shared or loaded machine the figures are noise: look at the load first.
``--compare OLD.json`` (a saved ``--json``) adds each row's after/before ratio,
so a change's effect on speed is one command.

``mmstress bench races`` is a separate section, run only when named: every
order-dependent race of the catalogue (scenarios/bugs/races.txt) under the
random, pct (k measured) and pos strategies for --seeds seeds, with each
race's detection rate and seconds per detection, and each correct twin
(NAME_ok), which must stay clean under every strategy (exit 1 if not).
"""

import json
import os
import sys

from harness.exits import EXIT_HARNESS, EXIT_OK, EXIT_VIOLATIONS, UsageError, interrupted
from harness.outputs import schemas

HELP = "measure the model's and the harness's speed against targets"

EPILOG = """exit codes:
  0    every measurement was taken (whether or not it met its target)
  2    bad usage
  3    a measurement could not be taken (its row says ERROR)
  130  interrupted by Ctrl-C (SIGINT), 143 by SIGTERM
"""


def _sizes(args):
    from harness.tools import bench
    sizes = bench.Sizes.quick() if args.quick else bench.Sizes()
    for name, lo, what in (("pairs", 1000, "kmalloc+kfree pairs per slab rate"),
                           ("ops", 10, "smoke iterations per CPU"),
                           ("local_ops", 100, "per-CPU-local iterations per CPU"),
                           ("repeat", 1, "runs per side of a ratio")):
        value = getattr(args, name)
        if value is None:
            continue
        if value < lo:
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{flag} {value}: allowed: an integer >= {lo} ({what})")
        setattr(sizes, name, value)
    if args.seed is not None:
        if args.seed < 0:
            raise UsageError(f"--seed {args.seed}: allowed: an integer >= 0")
        sizes.seed = args.seed
    if args.json:
        folder = os.path.dirname(os.path.abspath(args.json))
        if not os.path.isdir(folder):
            raise UsageError(f"--json {args.json}: no such directory {folder}")
        if os.path.isdir(args.json):
            raise UsageError(f"--json {args.json}: is a directory; give a file path")
    return sizes


def main_races(args):
    from harness.supervisor import machine
    from harness.tools import bench
    if args.race_ops is None:
        args.race_ops = bench.RACE_OPS
    if args.seeds < 1:
        raise UsageError(f"--seeds {args.seeds}: allowed: an integer >= 1")
    if args.race_ops < 1:
        raise UsageError(f"--race-ops {args.race_ops}: allowed: an integer >= 1")
    print(f"mmstress bench races: {args.seeds} seeds per race and strategy, {args.race_ops} "
          f"iterations per CPU, strategies {', '.join(bench.RACE_STRATEGIES)}")
    restore = machine.install_stop_handlers()
    try:
        cells = bench.race_bench(args.seeds, args.race_ops,
                                 on_cell=lambda c: print(bench.format_race_cell(c), flush=True))
    except bench.Interrupted as exc:
        print(f"mmstress: bench interrupted by signal {exc.signum}", file=sys.stderr)
        return 128 + exc.signum
    finally:
        restore()
    totals = bench.race_totals(cells)
    print("per strategy (all races):")
    for s, t in totals.items():
        per = f"{t['seconds'] / t['detections']:.2f} s" if t["detections"] else "-"
        print(f"  {s:<7s} {t['detections']:>4d}/{t['runs']:<4d} found ({t['detections'] / max(1, t['runs']):.0%}), "
              f"{per}/detection, {t['seconds']:.1f} s; twins {t['false_positives']}/{t['twin_runs']} "
              "with a violation")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**schemas.header("bench-races"),
                       "command": "mmstress " + " ".join(args.argv or []), "seeds": args.seeds,
                       "ops": args.race_ops, "cells": [c.as_dict() for c in cells],
                       "totals": totals}, f, indent=2)
            f.write("\n")
    dirty = sum(t["false_positives"] for t in totals.values())
    return EXIT_VIOLATIONS if dirty else EXIT_OK


def main(args):
    if args.section == "races":
        return main_races(args)
    from harness.tools import bench
    from harness.supervisor import machine
    sizes = _sizes(args)
    info = bench.machine_info()
    print(f"mmstress bench{' --quick' if args.quick else ''}: {info['cores']} cores "
          f"({info['usable_cores']} usable), {info['implementation']} {info['python']}, "
          f"{info['arch']}, {info['system']}")
    try:
        load = os.getloadavg()
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
              f"(a loaded or shared machine makes every figure noise)")
    except OSError:
        load = None
    before = _load_compare(args.compare) if args.compare else None
    print(bench.header())
    restore = machine.install_stop_handlers()
    try:
        rows = bench.run_all(sizes, on_row=lambda r: print(bench.format_row(r), flush=True))
    except bench.Interrupted as exc:
        print(f"mmstress: bench interrupted by signal {exc.signum}; nothing written", file=sys.stderr)
        return interrupted(exc.signum)
    finally:
        restore()
    missed = [r.key for r in rows if r.status == "MISS"]
    errors = [r.key for r in rows if r.status == "ERROR"]
    print(f"{len(rows) - len(missed) - len(errors)} PASS, {len(missed)} MISS, {len(errors)} ERROR "
          "(measured, not asserted)")
    if before is not None:
        print(f"\ncompared with {args.compare} (machine then: {_machine_line(before)}):")
        print(bench.format_compare(bench.compare(rows, before)))
    if args.json:
        doc = {**schemas.header("bench"),
               "command": "mmstress " + " ".join(args.argv or []), "quick": args.quick,
               "machine": dict(info, load_average=list(load) if load else None),
               "sizes": vars(sizes), "rows": [r.as_dict() for r in rows]}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    return EXIT_HARNESS if errors else EXIT_OK


def _load_compare(path):
    """The saved bench JSON ``--compare`` names: read before the run, so a bad path is
    exit 2 at once rather than after minutes of measuring."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as exc:
        raise UsageError(f"--compare {path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(f"--compare {path}: not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        raise UsageError(f"--compare {path}: not a `mmstress bench --json` file (no rows)")
    return doc


def _machine_line(doc):
    m = doc.get("machine") if isinstance(doc.get("machine"), dict) else {}
    load = m.get("load_average")
    load = f", load {load[0]:.2f}" if isinstance(load, list) and load else ""
    return f"{m.get('cores', '?')} cores, Python {m.get('python', '?')}{load}"


def arguments(p):
    p.add_argument("section", nargs="?", choices=("races",), help="races: the race benchmark "
                   "(only run when named)")
    p.add_argument("--seeds", type=int, default=10, help="races: seeds per race and strategy "
                   "(default 10)")
    p.add_argument("--race-ops", type=int, default=None, help="races: iterations per CPU "
                   "(default 3)")
    p.add_argument("--quick", action="store_true", help="a smaller, faster run (a first look; "
                   "the test uses it)")
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON (kind bench, or "
                   "bench-races; harness/outputs/schemas/)")
    p.add_argument("--compare", metavar="OLD.json", help="print each row's ratio against a "
                   "saved --json run")
    p.add_argument("--seed", type=int, help="seed of the harness runs (default 1)")
    p.add_argument("--pairs", type=int, help="kmalloc+kfree pairs per slab rate "
                   "(default 200000, --quick 20000)")
    p.add_argument("--ops", type=int, help="smoke iterations per CPU for the checker overhead "
                   "(default 3000, --quick 300)")
    p.add_argument("--local-ops", type=int, help="per-CPU-local iterations per CPU for scaling "
                   "and scheduling (default 20000, --quick 2000)")
    p.add_argument("--repeat", type=int, help="runs per side of a ratio, fastest kept "
                   "(default 3, --quick 1)")
