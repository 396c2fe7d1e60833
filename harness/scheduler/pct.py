"""``pct``: Probabilistic Concurrency Testing.

Burckhardt, Kothari, Musuvathi, Nagarakatte, "A Randomized Scheduler with
Probabilistic Guarantees of Finding Bugs", ASPLOS 2010.  With n CPUs, k steps
and a bug of depth d (d ordering constraints between steps), one run finds it
with probability at least 1 / (n * k^(d-1)).

    - each CPU gets a distinct random initial priority in d .. d+n-1;
    - d-1 change points are chosen uniformly among steps 1..k;
    - the runnable CPU with the highest priority runs;
    - at change point i (0-based), the running CPU's priority drops below every
      priority so far (the paper's d-1-i: below the initial ones and the drops
      before it).

k matters: change points after the run's last step do nothing.  As in
Shuttle's PctScheduler (and the paper's 4.1, "Identifying Sequential
Execution"), only steps with a choice -- two or more CPUs that can run --
are counted (``view.count[0]``, shared): a change point while one CPU runs
alone, or the others spin or wait at the end-of-run barrier, would be
wasted.  ``steps`` (``--pct-steps``) is k; the explorer measures it from the
previous executions (their steps with a choice), as Shuttle does after a
first execution.

A CPU that busy-waits (``relax``, cpu_relax()) yields: as in Shuttle's
PctScheduler, its priority drops below every priority so far, like a change
point's, so the others run until their own change point; it stays runnable
(another CPU's write may end its wait), so steps while it waits have a choice
and count towards k.  The drops below the initial priorities -- change points
and yields alike -- take 0, -1, -2, ... from a shared counter
(``view.count[1]``), so the latest drop is the lowest.

Interrupts are threads too (when the scenario has any): CPU c's hardirq
source gets an initial priority among the CPUs', and the handler runs at a
yield point of c (process context) whenever the source's priority is above
c's.  Having fired, the source drops below every priority so far, like a
yield, until c itself drops below it again -- at a change point of c or a
cpu_relax().  So the d - 1 change points also choose where interrupts land,
and a step of a CPU whose interrupt could come has a choice (counted in k)
even when it runs alone.  While the source ranks below its CPU, interrupts
still arrive at the scenario's rate (the coin every strategy flips): PCT adds
the interrupts its priorities place, it does not take the others away.
Measured (bench races, 20 seeds, 3 and 20 iterations; the coin alone before):
percpu_irq_race 9 -> 16 and 18 -> 20, race_percpu_lost 5 -> 14 and 7 -> 16,
slub_fastpath_no_irq 2 -> 2 and 11 -> 15, slub_skip_double_free 4 -> 9 and
16 -> 20.  The
sources' priorities are kept by each CPU's process for its own source (only
that CPU's steps change it); drops take the same shared counter.

Invariants: priorities are distinct at all times; they live in ``view.prio``
(shared memory), so every CPU process sees the drops made by the others.
A spinning CPU cannot make progress: the highest-priority CPU that is not
spinning runs instead (the spinning one keeps its priority).
"""

from .base import KIND_CODE, RUNNABLE, Option, Stream, Strategy, has_choice, positive_int

_RELAX = KIND_CODE["relax"]
_RECHECK = {KIND_CODE["start"], KIND_CODE["unlock"], KIND_CODE["spin"], KIND_CODE["done"],
            KIND_CODE["wait"], _RELAX}


class PctScheduler(Strategy):
    name = "pct"
    OPTIONS = (Option("depth", positive_int, 3, "the bug depth d (default 3)"),
               Option("steps", positive_int, 20000, "k, the number of steps the change points "
                      "are drawn from (default: from the scenario's size)", flag="--pct-steps"))

    def __init__(self, irq_rate=0.0, **options):
        super().__init__(irq_rate, **options)
        if self.depth < 1:
            raise ValueError("pct depth must be >= 1")
        self.k = max(1, self.steps)
        self.change_points = {}

    def new_execution(self, seed, view):
        super().new_execution(seed, view)
        rng = Stream(seed, "pct").random()
        ncpus = view.ncpus
        threads = ncpus * 2 if self.irq_rate > 0 else ncpus    # each CPU's hardirq source
        prios = list(range(self.depth, self.depth + threads))
        rng.shuffle(prios)
        for c in range(ncpus):
            view.prio[c] = prios[c]
        self.initial = prios[:ncpus]
        self.irq_prio = prios[ncpus:]
        points = rng.sample(range(1, self.k + 1), min(self.depth - 1, self.k))
        self.change_points = {step: i for i, step in enumerate(sorted(points))}

    def next_cpu(self, view, current, kind):
        i = None
        if self.irq_prio or has_choice(view.state):
            view.count[0] += 1
            i = self.change_points.get(view.count[0])
        if i is not None or kind == _RELAX:
            view.prio[current] = -view.count[1]     # below every priority so far
            view.count[1] += 1
        elif kind not in _RECHECK and view.state[current] == RUNNABLE:
            return current               # nothing changed: the highest still runs
        if not view.runnable():
            return current
        return max(self.live_choice(view, current), key=lambda c: view.prio[c])

    def irq_due(self, view, cpu):
        """Deliver CPU ``cpu``'s hardirq here if its source outranks the CPU; then the
        source drops below every priority so far."""
        if not self.irq_prio:
            return False
        if self.irq_prio[cpu] < view.prio[cpu]:
            return super().irq_due(view, cpu)       # the scenario's own rate, as every strategy
        self.irq_prio[cpu] = -view.count[1]
        view.count[1] += 1
        return True

    def bound(self, ncpus):
        """The ASPLOS 2010 lower bound on finding a depth-d bug in one run."""
        return 1.0 / (ncpus * self.k ** (self.depth - 1))
