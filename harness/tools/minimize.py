"""Shrinking a failing run's schedule to a small one that fails the same way.

The design is Hypothesis's shrinker (internal/conjecture/shrinker.py) applied
to a schedule instead of a byte string.  A failing run is its *choice
sequence*: which CPU takes each step up to the first report, and where a CPU
enters a hardirq -- the recorded steps themselves -- plus the machine it ran
on (CPUs, iterations per CPU).  A candidate is that sequence with something
taken out:

    fewer iterations   the same order on a machine that stops sooner (1, as many
                       as the order begins, half, one fewer)
    fewer CPUs         one CPU's steps deleted, the CPUs above it renumbered
    fewer switches     the order cut after its first few switch points, the
                       rest left to the default (run the current CPU until it
                       finishes, spins or waits; then the next CPU in turn)
    deleted stretches  one CPU's whole stretch removed (its neighbours merge,
                       a preemption goes), then chunks of 8, 4, 2, 1 steps
    dropped interrupts one hardirq entry removed

and it runs under the ``guided`` scheduler (harness/scheduler/replay.py),
which follows the candidate where it applies and never diverges.  The run
records a fresh trace; the candidate is accepted when

  * its first violation is the same bug as the input's: the record key (kind and
    the checker's dedup site: one double free is one bug whichever kfree came second),
  * it is smaller in the total order (steps to the report, preemptions,
    interrupts, CPUs, iterations, steps of the whole run) -- compared as a
    tuple, so the search terminates -- and
  * no axis of the five is larger than the input's: the result is never
    bigger than its input in any way.

As in Hypothesis, the shrink target then becomes what the accepted run
*did* (its fresh recording, cut at its report), not the candidate, and the
passes start over.  A candidate whose decisions (machine; each step's CPU,
hardirq or not) were tried before is not run again: deleting any one plain
step of a stretch is one candidate, not one per step.  The search
ends when a whole round of passes finds nothing or the budget of runs is
spent.  What is saved is the accepted run's recording: an ordinary trace
that ``mmstress replay`` redoes.  If nothing smaller fails the same way the
input is kept, and the caller says so.

"Preemptions" are switches away from a CPU that could have gone on: a switch
after a ``done``, ``spin`` or ``wait`` step is the CPU giving way, not a
preemption.

The shrinker itself (``Shrinker``) takes the run as a function from a
candidate to an ``Attempt``, so it is tested on a pure fake of a machine
without processes; ``machine_runner`` is the real one.
"""

import dataclasses
import re
from dataclasses import dataclass, field

from harness.scheduler.base import KIND_CODE, YIELD_KINDS
from harness.scheduler.trace import Trace, TraceError

AXES = ("steps", "preemptions", "interrupts", "cpus", "iterations")
_IRQ, _ITER = KIND_CODE["irq"], KIND_CODE["iter"]
_GIVES_WAY = frozenset((KIND_CODE["done"], KIND_CODE["spin"], KIND_CODE["wait"]))
CHUNKS = (8, 4, 2, 1)


@dataclass(frozen=True)
class Candidate:
    """A schedule to try: the machine (CPUs, iterations per CPU) and the order (steps)."""
    cpus: int
    ops: int
    plan: tuple

    def decisions(self):
        """What the guided scheduler acts on: the machine, and each step's CPU and
        whether it enters a hardirq (two candidates alike in this run alike)."""
        return self.cpus, self.ops, tuple((c, k == _IRQ) for c, k in self.plan)

    def describe(self):
        return f"{self.cpus} CPU{'s' if self.cpus != 1 else ''} x {self.ops} iteration" \
               f"{'s' if self.ops != 1 else ''}"


@dataclass
class Attempt:
    """What a run of a candidate did: its first violation ({kind, site, title} or None),
    its recorded steps, the step of its first report, and the run itself (``payload``:
    a RunResult for the real machine) to save."""
    candidate: Candidate
    violation: dict | None
    steps: list
    violation_step: int | None
    payload: object = field(default=None, repr=False)

    @property
    def prefix(self):
        return self.steps[:self.violation_step] if self.violation_step else self.steps

    def sizes(self):
        return sizes(self.prefix, self.candidate.cpus, self.candidate.ops)

    def key(self):
        s = self.sizes()
        return tuple(s[a] for a in AXES) + (len(self.steps),)


def preemptions(steps):
    """Switches away from a CPU that could have gone on (not after done/spin/wait)."""
    return sum(1 for a, b in zip(steps, steps[1:]) if a[0] != b[0] and a[1] not in _GIVES_WAY)


def sizes(steps, cpus, iterations):
    """The five axes of a run cut at its report (``steps``), on ``cpus`` CPUs
    running ``iterations`` iterations each."""
    return {"steps": len(steps), "preemptions": preemptions(steps),
            "interrupts": sum(1 for _, k in steps if k == _IRQ), "cpus": cpus,
            "iterations": iterations}


def iterations_of(trace):
    """Iterations per CPU of a recorded run: the header's ``ops``, or for a run that
    was given a duration the most ``iter`` steps one CPU took."""
    return trace.header.get("ops") or iterations_begun(trace.steps)


def iterations_begun(steps):
    """The most iterations one CPU began in ``steps`` (at least 1)."""
    per_cpu = {}
    for cpu, kind in steps:
        if kind == _ITER:
            per_cpu[cpu] = per_cpu.get(cpu, 0) + 1
    return max(per_cpu.values(), default=1)


_CHECKOUT = re.compile(r"^\S*?/(?=(?:scenarios|kernel_model|harness)/)")


def site_key(site):
    """A site as two checkouts agree on it: a file of the project named from the
    project's root (a trace recorded in /work/main names /work/main/scenarios/...)."""
    return _CHECKOUT.sub("", site) if isinstance(site, str) else site


def same_bug(a, b):
    """The same first violation: the same record key (kind + the checker's dedup site:
    one race is one bug whichever of its two accesses reported it), or, for a record
    without a key, the same kind and site."""
    if a is None or b is None or a.get("kind") != b.get("kind"):
        return False
    if a.get("key") and b.get("key"):
        return site_key(a["key"]) == site_key(b["key"])
    return site_key(a.get("site")) == site_key(b.get("site"))


def _runs(plan):
    """[(start, end)] of the maximal stretches of one CPU in ``plan``."""
    out, i = [], 0
    while i < len(plan):
        j = i
        while j < len(plan) and plan[j][0] == plan[i][0]:
            j += 1
        out.append((i, j))
        i = j
    return out


class Shrinker:
    """Shrink ``initial`` (an Attempt: the input) with ``run(candidate) -> Attempt``
    within ``budget`` runs; ``log(str)`` hears each accepted step."""

    def __init__(self, initial, run, budget=60, log=None):
        if initial.violation is None:
            raise TraceError("the trace recorded no violation: nothing to minimise")
        self.initial = initial
        self.target = initial.violation
        self.limit = initial.sizes()
        self.best = initial
        self.accepted = []             # every accepted attempt, oldest first
        self.run_fn = run
        self.budget = budget
        self.log = log or (lambda s: None)
        self.runs = 0
        self.seen = {initial.candidate.decisions()}

    # -- trying one candidate ----------------------------------------------------------
    def better(self, att):
        if not same_bug(att.violation, self.target):
            return False
        s = att.sizes()
        if any(s[a] > self.limit[a] for a in AXES):
            return False
        return att.key() < self.best.key()

    def consider(self, cand):
        """Run ``cand`` unless tried before; True if it became the best."""
        seen = cand.decisions()
        if self.runs >= self.budget or cand.cpus < 1 or cand.ops < 1 or seen in self.seen:
            return False
        self.seen.add(seen)
        self.runs += 1
        att = self.run_fn(cand)
        if not self.better(att):
            return False
        self.best = att
        self.accepted.append(att)
        s = att.sizes()
        self.log(f"kept: {att.candidate.describe()}, " + ", ".join(f"{s[a]} {a}" for a in AXES[:3]))
        return True

    # -- the passes (each returns True as soon as one candidate is accepted) ------------
    def _current(self):
        b = self.best
        return b.candidate.cpus, b.candidate.ops, tuple(b.prefix)

    def pass_iterations(self):
        """1 iteration, as many as the order shows a CPU begin, half, one fewer."""
        cpus, ops, plan = self._current()
        for n in sorted({1, iterations_begun(plan), ops // 2, ops - 1}):
            if 1 <= n < ops and self.consider(Candidate(cpus, n, plan)):
                return True
        return False

    def pass_cpus(self):
        cpus, ops, plan = self._current()
        used = {c for c, _ in plan}
        for c in sorted(range(cpus), key=lambda c: (c in used, -c)):
            cut = tuple((x - (x > c), k) for x, k in plan if x != c)
            if self.consider(Candidate(cpus - 1, ops, cut)):
                return True
        return False

    def pass_switches(self):
        """The order up to its first few stretches, the default after that."""
        cpus, ops, plan = self._current()
        for _, end in [(0, 0)] + _runs(plan)[:-1]:
            if self.consider(Candidate(cpus, ops, plan[:end])):
                return True
        return False

    def pass_stretches(self):
        cpus, ops, plan = self._current()
        for start, end in reversed(_runs(plan)):
            if self.consider(Candidate(cpus, ops, plan[:start] + plan[end:])):
                return True
        return False

    def pass_chunks(self):
        cpus, ops, plan = self._current()
        for k in CHUNKS:
            for i in range(len(plan) - k, -1, -1):
                if self.consider(Candidate(cpus, ops, plan[:i] + plan[i + k:])):
                    return True
        return False

    def pass_interrupts(self):
        cpus, ops, plan = self._current()
        for i in reversed([i for i, (_, k) in enumerate(plan) if k == _IRQ]):
            if self.consider(Candidate(cpus, ops, plan[:i] + plan[i + 1:])):
                return True
        return False

    PASSES = ("pass_iterations", "pass_cpus", "pass_switches", "pass_interrupts",
              "pass_stretches", "pass_chunks")

    def shrink(self):
        """Run the passes until a whole round finds nothing or the budget is spent;
        the best attempt (``initial`` if nothing smaller failed the same way)."""
        progress = True
        while progress and self.runs < self.budget:
            progress = False
            for name in self.PASSES:
                if getattr(self, name)():
                    progress = True
                    break
        return self.best

    @property
    def shrunk(self):
        return self.best is not self.initial


# -- the real machine ---------------------------------------------------------------------
class Interrupted(Exception):
    """A candidate's run was stopped by a signal (Ctrl-C): the search ends."""

    def __init__(self, signum):
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum


def initial_attempt(trace):
    """The input trace as an Attempt (no run: what it recorded)."""
    h = trace.header
    if h.get("truncated"):
        raise TraceError("the trace was truncated while recording: its order is incomplete; "
                         "record a shorter run (--ops, --duration)")
    cand = Candidate(h["cpus"], iterations_of(trace),
                     tuple(trace.steps[:h.get("violation_step") or None]))
    return Attempt(cand, h.get("violation"), trace.steps, h.get("violation_step"))


def machine_runner(scenario, seed, irq_mask=None):
    """``run(candidate) -> Attempt`` on real CPU processes under the guided scheduler."""
    from harness.outputs import recording
    from harness.scheduler import options as scheduling
    from harness.supervisor import machine

    def run(cand):
        sc = dataclasses.replace(scenario, cpus=cand.cpus, ops=cand.ops, duration=None)
        opts = scheduling.SchedOptions(strategy="guided", trace_steps=list(cand.plan))
        res = machine.run(sc, seed, irq_mask=irq_mask, sched=opts)
        if res.interrupted:
            raise Interrupted(res.interrupted)
        return Attempt(cand, recording.violation_key(res), res.steps,
                       (res.sched or {}).get("violation_step"), res)
    return run


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


def load(path, trust=False):
    """The trace to shrink (a format-2 trace only with ``trust``)."""
    return Trace.load(path, legacy=trust)
