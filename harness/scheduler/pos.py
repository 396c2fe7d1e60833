"""``pos``: Partial Order Sampling.

Yuan, Yang, Gu, "Partial Order Aware Concurrency Sampling", CAV 2018
(Fray, OOPSLA 2025, reports POS finding real races in fewer runs than PCT).
Every pending event -- each CPU's next step -- has a random priority; the
highest-priority event that can make progress runs; after it ran, the
running CPU's next step is a new event and draws a new priority, and so
does every pending event that races with the one just executed.  Unlike
random walk, this samples partial orders nearly uniformly: a long run of one
CPU is no less likely than one that alternates.

"Races with": the paper's events are memory accesses and two race when they
touch the same location and one writes.  This engine sees a CPU's last yield
point and the object it was on (``view.obj``: the lock's id + 1, 0 none), not
the next access, so we approximate: a pending event races with the executed
one when both CPUs' last yield points were on the same object (a CPU spinning
on, or about to take, the lock just released).  Where no object is known only
the running CPU redraws, which is the paper's rule for newly enabled events.
Shared memory accesses are yield points with their 64-byte line as the
object (``harness.runtime.access.line_obj``), so for them this is the paper's
rule, less the read/write distinction.

A busy-wait step (``relax``, cpu_relax()) re-reads a flag that any other
CPU's next step may be about to write: every pending event races with it and
every CPU redraws.  (Redrawing only the waiting CPU would let a stale low
priority of the writer keep it waiting for many steps.)

Priorities live in ``view.prio`` (shared), drawn from the ``pos`` stream at
(step, CPU): a pure function of the seed and the steps taken.
"""

from .base import KIND_CODE, Stream, Strategy

_RELAX = KIND_CODE["relax"]


class PosScheduler(Strategy):
    name = "pos"

    def new_execution(self, seed, view):
        super().new_execution(seed, view)
        self.stream = Stream(seed, "pos")
        for c in range(view.ncpus):
            view.prio[c] = self._draw(0, c)

    def _draw(self, step, cpu):
        return self.stream.at(step, cpu) >> 2          # fits the arena's signed 64 bits

    def next_cpu(self, view, current, kind):
        step, prio = view.step, view.prio
        prio[current] = self._draw(step, current)
        obj = view.obj[current]
        if kind == _RELAX:
            for c in range(view.ncpus):
                prio[c] = self._draw(step, c)
        elif obj:
            for c in range(view.ncpus):
                if c != current and view.obj[c] == obj:
                    prio[c] = self._draw(step, c)
        if not view.runnable():
            return current
        return max(self.live_choice(view, current), key=lambda c: prio[c])
