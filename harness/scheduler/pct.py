"""``pct``: Probabilistic Concurrency Testing.

Burckhardt, Kothari, Musuvathi, Nagarakatte, "A Randomized Scheduler with
Probabilistic Guarantees of Finding Bugs", ASPLOS 2010.  With n CPUs, k steps
and a bug of depth d (d ordering constraints between steps), one run finds it
with probability at least 1 / (n * k^(d-1)).

    - each CPU gets a distinct random initial priority in d .. d+n-1;
    - d-1 change points are chosen uniformly among steps 1..k;
    - the runnable CPU with the highest priority runs;
    - at change point i (0-based), the running CPU's priority drops to d-1-i,
      below every initial priority.

Invariants: priorities are distinct at all times; they live in ``view.prio``
(shared memory), so every CPU process sees the drops made by the others.
A spinning CPU cannot make progress: the highest-priority CPU that is not
spinning runs instead (the spinning one keeps its priority).
"""

import random as _random

from .base import KIND_CODE, RUNNABLE, SPINNING, rand_at

_RECHECK = {KIND_CODE["start"], KIND_CODE["unlock"], KIND_CODE["spin"], KIND_CODE["done"],
            KIND_CODE["wait"]}

_M = 1 << 64


class PctScheduler:
    name = "pct"

    def __init__(self, depth=3, steps=20000, irq_rate=0.0):
        if depth < 1:
            raise ValueError("pct depth must be >= 1")
        self.depth = depth
        self.k = max(1, steps)
        self.irq_rate = irq_rate
        self.seed = 0
        self.change_points = {}

    def new_execution(self, seed, ncpus, view=None):
        self.seed = seed
        rng = _random.Random(seed)           # seeded: a pure function of the seed
        prios = list(range(self.depth, self.depth + ncpus))
        rng.shuffle(prios)
        if view is not None:
            for c in range(ncpus):
                view.prio[c] = prios[c]
        self.initial = prios
        points = rng.sample(range(1, self.k + 1), min(self.depth - 1, self.k))
        self.change_points = {step: i for i, step in enumerate(sorted(points))}

    def next_cpu(self, view, current, kind):
        i = self.change_points.get(view.step)
        if i is not None:
            view.prio[current] = self.depth - 1 - i
        elif kind not in _RECHECK and view.state[current] == RUNNABLE:
            return current               # nothing changed: the highest still runs
        runnable = view.runnable()
        if not runnable:
            return current
        live = [c for c in runnable if view.state[c] != SPINNING] or runnable
        if view.state[current] == SPINNING and len(live) > 1:
            live = [c for c in live if c != current] or live
        return max(live, key=lambda c: view.prio[c])

    def irq_due(self, view, cpu):
        return self.irq_rate > 0 and rand_at(self.seed, view.step, 3) < self.irq_rate * _M

    def bound(self, ncpus):
        """The ASPLOS 2010 lower bound on finding a depth-d bug in one run."""
        return 1.0 / (ncpus * self.k ** (self.depth - 1))
