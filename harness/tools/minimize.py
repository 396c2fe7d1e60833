"""Shrinking a failing run to a small one that fails the same way.

"The same way" is the first violation's kind and site (file:line of the
workload, or the model function).  A run is described by what a serialised
schedule needs to redo it -- seed, CPUs, iterations per CPU, the interrupt
probability and the preemption (switch) probability of the ``random``
strategy -- so shrinking is a search over those, in the order that removes
the most: fewer iterations (halving), fewer CPUs, fewer interrupts, fewer
preemptions.  Each candidate is tried with its own seed and a few neighbours
(a smaller run rarely fails with the exact seed of the bigger one); the first
that reproduces is kept.  A free-run trace is first turned into a serialised
run that shows the same violation (a search over seeds), since a recorded
free interleaving cannot be cut.

The result is a trace of the smallest run found (``mmstress replay OUT``
redoes it) and a readable listing of its steps up to the violation.
"""

import dataclasses
from dataclasses import dataclass

from harness.supervisor import machine
from harness.outputs import recording
from harness.scheduler import options as scheduling
from harness.scheduler.base import YIELD_KINDS
from harness.scheduler.trace import Trace, TraceError

SEEDS_PER_CANDIDATE = 4


@dataclass(frozen=True)
class Candidate:
    seed: int
    cpus: int
    ops: int
    irq_rate: float
    switch_prob: float

    def describe(self):
        return (f"{self.cpus} CPUs x {self.ops} iterations, P(irq)/step {self.irq_rate:.4f}, "
                f"P(preempt)/step {self.switch_prob:.4f}, seed {self.seed}")


class Minimizer:
    def __init__(self, trace, log=print, budget=60):
        self.trace = trace
        self.log = log
        self.budget = budget
        self.runs = 0
        h = trace.header
        self.target = h.get("violation")
        if not self.target:
            raise TraceError("the trace recorded no violation: nothing to minimise")
        self.scenario = recording.scenario_of(trace, "the trace")
        self.best = None            # (candidate, result)

    # -- running candidates ----------------------------------------------------------
    def _run(self, cand):
        self.runs += 1
        sc = dataclasses.replace(self.scenario, cpus=cand.cpus, ops=cand.ops, duration=None)
        opts = scheduling.SchedOptions(strategy="random", irq_rate=cand.irq_rate,
                                       switch_prob=cand.switch_prob)
        return machine.run(sc, cand.seed, sched=opts)

    def same_bug(self, result):
        key = recording.violation_key(result)
        return key is not None and key["kind"] == self.target["kind"] \
            and key.get("site") == self.target.get("site")

    def try_candidate(self, cand):
        """Run ``cand`` with its seed and a few neighbours; the first reproducing run."""
        for seed in range(cand.seed, cand.seed + SEEDS_PER_CANDIDATE):
            if self.runs >= self.budget:
                return None
            c = dataclasses.replace(cand, seed=seed)
            res = self._run(c)
            if self.same_bug(res):
                return c, res
        return None

    # -- the search ---------------------------------------------------------------------
    def start(self):
        h = self.trace.header
        opts = h.get("options", {})
        ops = h.get("ops") or scheduling.SERIAL_DEFAULT_OPS
        irq = opts.get("irq_rate") or scheduling.options_for("random", self.scenario).irq_rate
        cand = Candidate(h["seed"], h["cpus"], ops, irq, opts.get("switch_prob") or 1 / 32)
        if h.get("strategy") == "random":
            found = self.try_candidate(cand)
        else:                      # free or pct: find a random schedule with the same bug
            found = None
            for base in range(0, 10 * SEEDS_PER_CANDIDATE, SEEDS_PER_CANDIDATE):
                found = self.try_candidate(dataclasses.replace(cand, seed=base))
                if found or self.runs >= self.budget:
                    break
        if not found:
            raise TraceError(f"no serialised run reproduced {self.target['kind']} at "
                             f"{self.target.get('site')} within {self.runs} runs: cannot shrink")
        self.best = found
        self.log(f"start: {found[0].describe()}: {cost(found[1]):,} steps to the report")

    def shrink(self):
        self.start()
        improved = True
        while improved and self.runs < self.budget:
            improved = False
            for make in (self._fewer_ops, self._fewer_cpus, self._fewer_irqs, self._fewer_preemptions):
                cand = make(self.best[0])
                if cand is None:
                    continue
                found = self.try_candidate(cand)
                if found and cost(found[1]) < cost(self.best[1]):
                    self.best = found
                    improved = True
                    self.log(f"kept:  {found[0].describe()}: {cost(found[1]):,} steps to the report")
        return self.best

    @staticmethod
    def _fewer_ops(c):
        return dataclasses.replace(c, ops=c.ops // 2) if c.ops > 1 else None

    @staticmethod
    def _fewer_cpus(c):
        return dataclasses.replace(c, cpus=c.cpus - 1) if c.cpus > 1 else None

    @staticmethod
    def _fewer_irqs(c):
        if c.irq_rate <= 0:
            return None
        return dataclasses.replace(c, irq_rate=0.0 if c.irq_rate < 1e-3 else c.irq_rate / 4)

    @staticmethod
    def _fewer_preemptions(c):
        return dataclasses.replace(c, switch_prob=c.switch_prob / 4) if c.switch_prob > 1 / 8192 else None


def cost(result):
    """How big a failing run is: the steps up to its first report."""
    sched = result.sched or {}
    return sched.get("violation_step") or sched.get("steps") or 0


def sizes(steps):
    """(steps, CPUs, interrupts, preemptions) of a run's steps."""
    irq = YIELD_KINDS.index("irq")
    cpus = {c for c, _ in steps}
    switches = sum(1 for a, b in zip(steps, steps[1:]) if a[0] != b[0])
    return {"steps": len(steps), "cpus": len(cpus), "interrupts": sum(1 for _, k in steps if k == irq),
            "preemptions": switches}


def render(steps, upto=None, tail=60):
    """Readable steps: one line per stretch of one CPU, ``CPU 1 hardirq: alloc lock ...``;
    CPUs taking turns to spin are one line."""
    steps = steps[:upto] if upto else steps
    start = max(0, len(steps) - tail)
    lines = [f"   ... {start:,} earlier steps" if start else ""]
    irq, spin = YIELD_KINDS.index("irq"), YIELD_KINDS.index("spin")
    i = start
    while i < len(steps):
        j = i
        while j < len(steps) and steps[j][1] == spin:
            j += 1
        if j - i > 2:
            who = ", ".join(str(c) for c in sorted({c for c, _ in steps[i:j]}))
            lines.append(f"{i + 1:8d}  CPU {who} spin x{j - i} (each waits for a lock the other holds)")
            i = j
            continue
        cpu = steps[i][0]
        j = i
        kinds = []
        while j < len(steps) and steps[j][0] == cpu:
            kinds.append(YIELD_KINDS[steps[j][1]])
            j += 1
        ctx = "hardirq" if steps[i][1] == irq else "runs"
        lines.append(f"{i + 1:8d}  CPU {cpu} {ctx}: {' '.join(kinds)}")
        i = j
    return "\n".join(line for line in lines if line)


def load(path):
    return Trace.load(path)
