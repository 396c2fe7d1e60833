"""The scheduler interface: who runs next at a yield point.

A strategy is three methods (as in Shuttle's ``Scheduler`` trait):

    new_execution(seed, ncpus)           reset for a run
    next_cpu(view, current, kind) -> int which CPU runs after this yield point
    irq_due(view, cpu) -> bool           deliver a hardirq to ``cpu`` here?

``view`` is the shared state every CPU process sees (``SchedView``): the
global step number, which CPUs are runnable, spinning or done.  A strategy's
decisions must be a pure function of (seed, view, current, kind) -- never of
which process evaluates them, never of time -- because whichever CPU holds
the token makes the decision, and replaying a run re-evaluates it.  Shared
mutable state a strategy needs (PCT's priorities) lives in ``view.prio``.

Yield kinds are small ints so a trace step is two bytes (CPU, kind).

The model marks each step after its effect -- ``locked`` once a lock is
held, ``trylocked`` once a trylock tried, ``unlock`` once released,
``peeked`` once a lockless read is done -- and both engines stop there, so a
free recording and its serialised replay agree on what had happened at each
step.  The trace records them as ``lock``, ``lock``, ``unlock``, ``mailbox``.

``access`` (trace format 2): a shared memory access -- a workload's k.read,
k.write, k.memset, this_cpu_* or atomic on data more than one CPU or context
has touched (harness.runtime.access), or one of the model's few lockless
accesses (SLUB's debug state, the buddy free lists).  Races live between
accesses, so a strategy may switch CPUs or deliver an interrupt there.
"""

from typing import Protocol

YIELD_KINDS = ("start", "iter", "lock", "unlock", "spin", "alloc", "alloc_done", "free",
               "percpu_enter", "percpu_exit", "irq_enable", "mailbox", "reclaim", "irq",
               "softirq", "done", "slab", "other", "locked", "trylocked", "peeked", "loop_end", "buddy", "wait",
               "access")
KIND_CODE = {k: i for i, k in enumerate(YIELD_KINDS)}

RUNNABLE, SPINNING, DONE = 0, 1, 2


def splitmix64(x):
    """One step of SplitMix64: a stateless, well-mixed 64-bit hash of x."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def rand_at(seed, step, stream=0):
    """A 64-bit random number that depends only on (seed, step, stream)."""
    return splitmix64(splitmix64(seed * 0x100000001B3 + stream) ^ step)


class SchedView:
    """What a strategy may look at; backed by the arena in real runs."""

    def __init__(self, ncpus, state=None, prio=None):
        self.ncpus = ncpus
        self.step = 0
        self.state = state if state is not None else [RUNNABLE] * ncpus
        self.prio = prio if prio is not None else [0] * ncpus
        self.irqs_enabled = [True] * ncpus

    def runnable(self):
        return [c for c in range(self.ncpus) if self.state[c] != DONE]

    def progressing(self):
        return [c for c in range(self.ncpus) if self.state[c] == RUNNABLE]


class Scheduler(Protocol):
    name: str

    def new_execution(self, seed: int, ncpus: int) -> None: ...

    def next_cpu(self, view: SchedView, current: int, kind: int) -> int: ...

    def irq_due(self, view: SchedView, cpu: int) -> bool: ...
