"""The parent-side explorer: runs executions one after another, keeping state across them.

A strategy inside the CPU processes must be a pure function of (seed,
options, view); what it needs from earlier executions is prepared here, in
the parent, and passed in through its options -- Shuttle's shape, where a
scheduler's ``new_execution() -> Option<Schedule>`` is asked before each
execution and returns None when nothing is left:

    new_execution() -> Execution | None    the next run's seed and SchedOptions
    record(execution, result)              read the finished run back (result.steps)

    random  a new seed per execution
    pct     a new seed per execution; k measured from the previous executions
            (their steps where two or more CPUs could run), or --pct-steps
    pos     a new seed per execution (POS's priorities are drawn per event)
    dfs     one seed; every schedule with at most K preemptions, fewest first
            (CHESS iterative context bounding), each execution the ``dfs``
            strategy following a prefix of forced choices; the tree's frontier
            is a checkpoint (JSON) a later search resumes from

``explore()`` runs executions until the first violation (of a kind, if asked)
or the budget; ``reproduce_command()`` is the one command that redoes a
failing execution (every strategy here is a pure function of its options, so
it is a ``mmstress run``).  ``repro()`` is auto-repro: for a violation seen
in an unscheduled run, search schedules of the same scenario, seed and CPUs
(only the schedule's own seed varies) for the same kind and site.
"""

import dataclasses
import json
import os
import shlex
import sys
import time
from dataclasses import dataclass

from harness.outputs import recording, schemas, trust
from harness.scenario.files import read_input
from harness.scheduler import options as scheduling
from harness.scheduler.base import KIND_CODE, RUNNABLE, has_choice, states_along

EXPLORERS = ("random", "pct", "pos", "dfs")
_RELAX = KIND_CODE["relax"]
MAX_CHECKPOINT_BYTES = 256 << 20     # a dfs frontier; far more than a search saves


@dataclass
class Execution:
    seed: int
    opts: object                     # SchedOptions
    preemptions: int = 0             # dfs: the forced choices that preempt


def same_violation(result, kind=None, site=None):
    """The first violation of ``result`` matching ``kind`` (and ``site``, if given)."""
    for v in result.violations:
        if (kind is None or v.get("kind") == kind) and (site is None or v.get("site") == site):
            return v
    return None


def failed(result, kind=None):
    if kind is not None:
        return same_violation(result, kind) is not None
    return result.exit_code == 1


def live_steps(steps, ncpus, irqs=False):
    """PCT's k: the decisions of a run that had a choice (two or more CPUs could run,
    or, ``irqs``, a CPU's interrupt could come: every step), counted as ``pct``
    counts them: at the start and after each step but the last."""
    if irqs:
        return len(steps)
    return sum(1 for st in states_along(steps, ncpus)[:len(steps)] if has_choice(st))


# -- the strategies' parent sides ----------------------------------------------------------
class Explorer:
    """Base: a new seed per execution, the strategy's options as given."""
    name = ""

    def __init__(self, scenario, seed, params=None, bound=2):
        self.scenario = scenario
        self.seed = seed
        self.params = dict(params or {})
        self.bound = bound               # dfs: at most this many preemptions
        self.executions = 0

    def options(self):
        return scheduling.options_for(self.name, self.scenario, **self.params)

    def new_execution(self):
        ex = Execution(self.seed + self.executions, self.options())
        self.executions += 1
        return ex

    def record(self, execution, result):
        pass

    def status(self):
        return f"{self.executions} executions"

    def state(self):
        """What a checkpoint stores to resume (dfs only)."""
        return {}

    def restore(self, state):
        raise ValueError(f"--strategy {self.name} keeps no frontier to resume")


class RandomExplorer(Explorer):
    name = "random"


class PosExplorer(Explorer):
    name = "pos"


DEPTHS = (3, 6, 12, 24)            # PCT's d, cycled over executions unless --depth is given


class PctExplorer(Explorer):
    """k: --pct-steps if given, else the most live steps measured so far (the first
    execution, with nothing measured, uses the scenario-size guess).

    d: --depth if given; else execution i runs with DEPTHS[i % 4].  The depth of
    the bug sought is not known, and it is the number of change points (d - 1)
    that sets how often PCT preempts: d = 3 keeps the ASPLOS bound for shallow
    bugs, d = 24 preempts about as often as random does at the default switch
    rate.  Measured on ``mmstress bench races`` (20 seeds): with d = 3 alone PCT
    found 44 of 240 (3 iterations) and 107 (20 iterations), random 44 and 131;
    cycling found 68 and 133."""
    name = "pct"

    def __init__(self, scenario, seed, params=None, bound=2):
        super().__init__(scenario, seed, params, bound)
        self.fixed_k = self.params.pop("steps", None)
        self.fixed_depth = self.params.pop("depth", None)
        self.measured = None

    def options(self):
        k = self.fixed_k or self.measured
        depth = self.fixed_depth or DEPTHS[self.executions % len(DEPTHS)]
        return scheduling.options_for("pct", self.scenario, steps=k, depth=depth, **self.params)

    def record(self, execution, result):
        k = live_steps(result.steps, self.scenario.cpus, bool(self.scenario.irq_rate))
        if k > 0:
            self.measured = max(self.measured or 0, k)

    def status(self):
        k = self.fixed_k or self.measured
        return f"{self.executions} executions, k = {k} ({'given' if self.fixed_k else 'measured'})"


class DfsExplorer(Explorer):
    """Bounded exhaustive search over schedules with at most ``bound`` preemptions.

    A schedule is a tuple of forced choices (step, cpu), each after the one
    before; after the last the ``dfs`` strategy never preempts.  Running a
    schedule shows its decision points past the last forced choice: at each,
    every other CPU that could run is a child schedule, costing a preemption
    if the current CPU could have gone on.  ``queues[b]`` holds the schedules
    with b preemptions not yet run; they are run fewest preemptions first, so
    a bug needing one preemption is found before the two-preemption space."""
    name = "dfs"

    def __init__(self, scenario, seed, params=None, bound=2):
        super().__init__(scenario, seed, params, bound)
        self.queues = [[()]] + [[] for _ in range(bound)]
        self.beyond = 0                  # children pruned by the bound

    def pending(self):
        return sum(len(q) for q in self.queues)

    def new_execution(self):
        for b, q in enumerate(self.queues):
            if q:
                schedule = q.pop()
                self.executions += 1
                opts = scheduling.options_for("dfs", self.scenario, schedule=schedule)
                return Execution(self.seed, opts, preemptions=b)
        return None

    def record(self, execution, result):
        schedule = tuple(execution.opts.schedule)
        for child, cost in children(schedule, result.steps, self.scenario.cpus):
            b = execution.preemptions + cost
            if b <= self.bound:
                self.queues[b].append(child)
            else:
                self.beyond += 1

    @property
    def exhausted(self):
        return self.pending() == 0

    def status(self):
        if self.exhausted:
            more = f"; {self.beyond} more need more preemptions" if self.beyond else ""
            return f"explored {self.executions} of {self.executions} schedules{more}"
        return (f"explored {self.executions} of at least {self.executions + self.pending()} "
                f"schedules within {self.bound} preemptions")

    def state(self):
        return {"bound": self.bound, "executions": self.executions, "beyond": self.beyond,
                "queues": [[[list(p) for p in s] for s in q] for q in self.queues]}

    def restore(self, state):
        if state.get("bound") != self.bound:
            raise ValueError(f"the checkpoint was made with at most {state.get('bound')} "
                             f"preemptions, not {self.bound}")
        self.executions = state["executions"]
        self.beyond = state.get("beyond", 0)
        self.queues = [[tuple(tuple(p) for p in s) for s in q] for q in state["queues"]]


def children(schedule, steps, ncpus):
    """(child schedule, preemption cost) for each decision point after the last forced
    choice of ``schedule`` in the run it produced (``steps``).  The decision after step
    s chose the CPU of step s+1; another CPU that could make progress there is a child;
    it costs a preemption when the current CPU could have gone on (not after its
    cpu_relax(): a busy-wait yields)."""
    states = states_along(steps, ncpus)
    start = schedule[-1][0] + 1 if schedule else 0
    for s in range(start, len(steps)):
        chosen = steps[s][0]
        st = states[s]
        current = steps[s - 1][0] if s >= 1 else None
        yielded = s >= 1 and steps[s - 1][1] == _RELAX
        for cpu in range(ncpus):
            if cpu == chosen or st[cpu] != RUNNABLE:
                continue
            cost = (1 if current is not None and st[current] == RUNNABLE and cpu != current
                    and not yielded else 0)
            yield schedule + ((s, cpu),), cost


EXPLORER_CLASSES = {cls.name: cls for cls in (RandomExplorer, PctExplorer, PosExplorer, DfsExplorer)}
assert tuple(EXPLORER_CLASSES) == EXPLORERS


def make_explorer(name, scenario, seed, params=None, bound=2, state=None):
    """The parent side of strategy ``name``; ``state``: a checkpoint's, to resume."""
    cls = EXPLORER_CLASSES.get(name)
    if cls is None:
        raise ValueError(f"unknown strategy {name!r}: one of {', '.join(EXPLORERS)}")
    ex = cls(scenario, seed, params, bound)
    if state:
        ex.restore(state)
    return ex


# -- running ---------------------------------------------------------------------------
def run_execution(scenario, execution):
    from harness.supervisor import machine
    return machine.run(scenario, execution.seed, sched=execution.opts)


@dataclass
class Outcome:
    executions: int
    seconds: float
    found: object = None              # (Execution, RunResult) of the first failing execution
    exhausted: bool = False
    interrupted: int | None = None
    broken: object = None             # (Execution, RunResult) of an execution the harness failed


def explore(explorer, budget_s=None, runs=None, kind=None, execute=None, log=None,
            checkpoint=None):
    """Run ``explorer``'s executions until one fails (``kind``: only a violation of that
    kind counts), the budget (seconds, runs) is spent, or it has none left.
    ``execute(scenario, execution) -> result`` (default: a real machine.run)."""
    execute = execute or run_execution
    t0 = time.monotonic()
    last_log = t0
    done = 0
    while True:
        if runs is not None and done >= runs:
            break
        if budget_s is not None and time.monotonic() - t0 >= budget_s:
            break
        ex = explorer.new_execution()
        if ex is None:
            if checkpoint:
                save_checkpoint(checkpoint, explorer)
            return Outcome(done, time.monotonic() - t0, exhausted=True)
        result = execute(explorer.scenario, ex)
        done += 1
        if getattr(result, "interrupted", None):
            return Outcome(done, time.monotonic() - t0, interrupted=result.interrupted)
        if result.exit_code == 3:
            return Outcome(done, time.monotonic() - t0, broken=(ex, result))
        explorer.record(ex, result)
        if checkpoint:
            save_checkpoint(checkpoint, explorer)
        if failed(result, kind):
            return Outcome(done, time.monotonic() - t0, found=(ex, result))
        now = time.monotonic()
        if log and now - last_log >= 5:
            log(f"{explorer.status()}, {now - t0:.0f} s")
            last_log = now
    return Outcome(done, time.monotonic() - t0)


# -- checkpoints (dfs) -------------------------------------------------------------------------
def checkpoint_identity(explorer):
    sc = explorer.scenario
    return {"strategy": explorer.name, "scenario": recording.portable_source(sc),
            "scenario_hash": recording.scenario_hash(sc), "seed": explorer.seed,
            "cpus": sc.cpus, "ops": sc.ops,
            "workloads": trust.workload_hashes(sc)}    # changed workload code: another search


def save_checkpoint(path, explorer):
    doc = {**schemas.header("explore-checkpoint"), "checkpoint": 1, **checkpoint_identity(explorer),
           "state": explorer.state()}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.replace(tmp, path)


def load_checkpoint(path, identity):
    """The saved state if ``path`` is a checkpoint of the same search; ValueError if it
    is of another; None if there is no file."""
    if not os.path.exists(path):
        return None
    try:
        doc = json.loads(read_input(path, MAX_CHECKPOINT_BYTES, "explore checkpoint"))
    except (ValueError, RecursionError) as exc:            # InputFileError is a ValueError
        raise ValueError(f"{path} is not an explore checkpoint: {exc}") from None
    if not isinstance(doc, dict) or doc.get("checkpoint") != 1:
        raise ValueError(f"{path} is not an explore checkpoint")
    for key, want in identity.items():
        if doc.get(key) != want and key == "workloads":
            had = doc.get(key) if isinstance(doc.get(key), dict) else {}
            changed = sorted(m for m in set(had) | set(want) if had.get(m) != want.get(m))
            raise ValueError(f"{path} is a checkpoint of another search (workloads: "
                             f"{', '.join(changed[:6]) or 'none recorded'} changed since)")
        if doc.get(key) != want:
            raise ValueError(f"{path} is a checkpoint of another search ({key} {doc.get(key)!r}, "
                             f"this one {want!r})")
    return doc["state"]


# -- the command that redoes an execution ----------------------------------------------------------
def reproduce_command(scenario, execution):
    what = recording.portable_source(scenario)
    what = "smoke" if what == "<embedded smoke>" else what
    ops = scenario.ops or scheduling.SERIAL_DEFAULT_OPS
    args = ["mmstress", "run", what, "--seed", str(execution.seed), "--cpus", str(scenario.cpus),
            "--ops", str(ops)] + execution.opts.args()
    return " ".join(shlex.quote(a) for a in args)


# -- auto-repro --------------------------------------------------------------------------------
REPRO_STRATEGIES = ("pos", "pct", "random")


class ReproSearch(Explorer):
    """Same scenario, run seed and CPUs; the schedule's own seed 1, 2, 3 ...; the
    strategies in turn (POS, PCT with k measured, random)."""
    name = "repro"

    def __init__(self, scenario, seed):
        super().__init__(scenario, seed)
        self.pct = PctExplorer(scenario, seed)       # its measured k

    def new_execution(self):
        i = self.executions
        self.executions += 1
        strategy = REPRO_STRATEGIES[i % len(REPRO_STRATEGIES)]
        sched_seed = i // len(REPRO_STRATEGIES) + 1
        if strategy == "pct":
            opts = self.pct.options().replace(sched_seed=sched_seed)
        else:
            opts = scheduling.options_for(strategy, self.scenario, sched_seed=sched_seed)
        return Execution(self.seed, opts)

    def record(self, execution, result):
        self.pct.record(execution, result)


def repro(scenario, seed, kind, site, budget_s=60, runs=None, execute=None, log=None):
    """Search reproducible schedules for violation ``kind`` at ``site``: an Outcome whose
    ``found`` is the first execution showing it."""
    serial = dataclasses.replace(scenario, ops=scenario.ops or scheduling.SERIAL_DEFAULT_OPS,
                                 duration=None)
    search = ReproSearch(serial, seed)
    execute = execute or run_execution
    t0 = time.monotonic()
    done = 0
    while (runs is None or done < runs) and time.monotonic() - t0 < budget_s:
        ex = search.new_execution()
        res = execute(serial, ex)
        done += 1
        if getattr(res, "interrupted", None):
            return Outcome(done, time.monotonic() - t0, interrupted=res.interrupted)
        search.record(ex, res)
        if same_violation(res, kind, site) is not None:
            return Outcome(done, time.monotonic() - t0, found=(ex, res))
        if log and done % 10 == 0:
            log(f"{done} schedules tried, {time.monotonic() - t0:.0f} s")
    return Outcome(done, time.monotonic() - t0)


def search_and_print(sc, seed, violation, budget_s, runs=None):
    """Search for ``violation`` (a report's dict: kind, site, title); print the outcome.
    Returns the exit code (0 found, 1 not found, 128+n interrupted)."""
    from harness.supervisor import machine
    kind, site = violation.get("kind"), violation.get("site")
    print(f"repro: {sc.name}, seed {seed}, {sc.cpus} CPUs: searching schedules for {kind} at "
          f"{site} (budget {budget_s:g} s{f', {runs} runs' if runs else ''})", file=sys.stderr)
    restore = machine.install_stop_handlers()
    try:
        out = repro(sc, seed, kind, site, budget_s=budget_s, runs=runs,
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
    print(f"reproduce: {reproduce_command(serial, execution)}")
    return 0
