"""The scheduler contract: exactly what the engine calls, and what a strategy declares.

A strategy (``Scheduler``, the shape of Shuttle's ``Scheduler`` trait with
the engine's two extra questions) is these methods, all called by
``engine.SchedEngine`` and nothing else:

    new_execution(seed, view)             before fork: reset for a run
    on_token(view, cpu)                   this CPU process just took the token
    next_cpu(view, current, kind) -> int  which CPU runs after this yield point
    run_budget(view, cpu) -> int          (``grants_runs`` only) after next_cpu kept
                                          ``cpu``: units of plain steps it may take
                                          without being asked (see below)
    spend(units)                          (``grants_runs`` only) the engine took that
                                          many units without asking; told before the
                                          strategy is next asked
    irq_due(view, cpu) -> bool            deliver a hardirq to ``cpu`` here? (asked only
                                          while ``irq_possible`` is true)
    check(step, cpu, kind)                (``follows_trace`` only) raise Divergence
    expect(step) -> (cpu, kind) | None    (``follows_trace`` only) the recorded step

Granted runs.  A yield point costs about half a microsecond, and asking the
strategy is a third of it; most steps change nothing.  A strategy that sets
``grants_runs`` promises: at a *plain* step (a kind other than spin, wait or
unlock, of a CPU that is RUNNABLE) of weight ``KIND_WEIGHTS[kind]`` smaller
than the budget it granted, next_cpu would only count the weight down and
keep the CPU.  The engine then counts down itself and tells the strategy the
total (``spend``) before it next asks.  The decisions are the same, asked or
not.  The budget is granted again after every next_cpu that keeps the CPU;
a CPU that takes the token starts with none.

``Strategy`` gives every hook a default, so a strategy overrides only what it
uses; the engine never probes with getattr or by catching TypeError.  Each
strategy class declares its options (``Option``: name, type, default, help);
the registry in ``harness/scheduler/__init__.py`` (name -> class) turns them
into ``mmstress run`` flags and trace-header fields.  A new strategy is one
file and one registry line.

``view`` is the shared state every CPU process sees (``SchedView``): the
global step number, which CPUs are runnable, spinning or done.  A strategy's
decisions must be a pure function of (seed, options, view, current, kind) --
never of which process evaluates them, never of time -- because whichever
CPU holds the token makes the decision, and replaying a run re-evaluates it.
Shared mutable state a strategy needs (PCT's and POS's priorities) lives in
``view.prio``; what it needs across executions (a measured k, a DFS prefix)
comes in through its options, prepared by the parent-side explorer
(``harness/tools/explore.py``).

Randomness: one stream per purpose (``Stream``), each rooted in the
project's one derivation from the run's seed (``harness.rng.derive``),
then drawn per (step, CPU) with SplitMix64 so a draw costs no hashing.

Yield kinds are small ints so a trace step is two bytes (CPU, kind).  The
list only grows (kinds are appended, never renumbered): traces store codes.

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

import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from harness import rng

YIELD_KINDS = ("start", "iter", "lock", "unlock", "spin", "alloc", "alloc_done", "free",
               "percpu_enter", "percpu_exit", "irq_enable", "mailbox", "reclaim", "irq",
               "softirq", "done", "slab", "other", "locked", "trylocked", "peeked", "loop_end", "buddy", "wait",
               "access", "relax")
KIND_CODE = {k: i for i, k in enumerate(YIELD_KINDS)}

RUNNABLE, SPINNING, DONE = 0, 1, 2
_M64 = 0xFFFFFFFFFFFFFFFF
_SPIN, _WAIT, _UNLOCK, _DONE = KIND_CODE["spin"], KIND_CODE["wait"], KIND_CODE["unlock"], KIND_CODE["done"]
_RELAX = KIND_CODE["relax"]


def splitmix64(x):
    """One step of SplitMix64: a stateless, well-mixed 64-bit hash of x."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


class SplitMix64:
    """SplitMix64 (Steele, Lea, Flood, OOPSLA 2014) as a sequence: a few integer
    operations per number and nothing to set up, where seeding a Mersenne Twister
    (``random.Random``) costs ~8 us -- paid at every hand-off of the token."""

    __slots__ = ("state",)

    def __init__(self, seed):
        self.state = seed & _M64

    def next(self):
        self.state = z = (self.state + 0x9E3779B97F4A7C15) & _M64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        return z ^ (z >> 31)

    def random(self):
        """A float in [0, 1)."""
        return (self.next() >> 11) * (1.0 / (1 << 53))

    def choice(self, seq):
        return seq[(self.next() >> 11) % len(seq)]


class Stream:
    """One purpose's random numbers for one run: ``at(step, cpu)`` depends only on
    (seed, purpose, step, cpu).  Purposes in use: ``switch`` (random), ``irq``
    (every serialised strategy), ``pct`` (priorities and change points),
    ``pos`` (event priorities)."""

    def __init__(self, seed, purpose):
        self.root = rng.derive(seed, "sched", purpose)

    def at(self, step, cpu=0):
        return splitmix64(splitmix64(self.root ^ step) ^ (cpu + 1))

    def unit(self, step, cpu=0):
        """A float in [0, 1)."""
        return (self.at(step, cpu) >> 11) * (1.0 / (1 << 53))

    def sequence(self, step=0, cpu=0):
        """A cheap sequence (``SplitMix64``: random(), choice()) for decisions taken at
        every hand-off of the token."""
        return SplitMix64(self.at(step, cpu))

    def random(self, step=0, cpu=0):
        """A ``random.Random`` for decisions that need shuffles or samples (once a run)."""
        import random as _random
        return _random.Random(self.at(step, cpu))


def geometric(rng, p):
    """Trials up to and including the first success, P(success) = p (>= 1)."""
    if p <= 0:
        return 1 << 62
    if p >= 1:
        return 1
    return 1 + int(math.log(1.0 - rng.random()) / math.log(1.0 - p))


class SchedView:
    """What a strategy may look at; backed by the arena in real runs."""

    def __init__(self, ncpus, state=None, prio=None):
        self.ncpus = ncpus
        self.step = 0
        self.state = state if state is not None else [RUNNABLE] * ncpus
        self.prio = prio if prio is not None else [0] * ncpus
        self.obj = [0] * ncpus
        self.count = [0] * 4
        self.irqs_enabled = [True] * ncpus

    def runnable(self):
        return [c for c in range(self.ncpus) if self.state[c] != DONE]

    def progressing(self):
        return [c for c in range(self.ncpus) if self.state[c] == RUNNABLE]


def track(state, cpu, kind, ncpus):
    """How a step changes the CPUs' states (the engine's rule, also used to read a
    trace back): spinning or waiting at a barrier -> SPINNING; any other step
    makes the CPU RUNNABLE; an unlock wakes every spinner; ``done`` -> DONE.

    ``relax`` (``cpu_relax()`` in a busy-wait on a flag, not a lock) leaves the
    CPU RUNNABLE: any other CPU's write may end its wait, so it may run at any
    time, as a yielding thread in Shuttle and CHESS.  Every strategy treats
    it as a voluntary yield (the others run first), never as progress."""
    if kind == _DONE:
        state[cpu] = DONE
    elif kind == _SPIN or kind == _WAIT:
        state[cpu] = SPINNING
    else:
        if state[cpu] == SPINNING:
            state[cpu] = RUNNABLE
        if kind == _UNLOCK:
            for c in range(ncpus):
                if state[c] == SPINNING:
                    state[c] = RUNNABLE


def has_choice(state):
    """Two or more CPUs could run next: a scheduling decision that can matter.
    (PCT asks at every step: a loop, no generator object.)"""
    seen = False
    for s in state:
        if s == RUNNABLE:
            if seen:
                return True
            seen = True
    return False


def states_along(steps, ncpus):
    """The CPUs' states after each step of a trace: [before step 1, after step 1, ...]."""
    state = [RUNNABLE] * ncpus
    out = [tuple(state)]
    for cpu, kind in steps:
        track(state, cpu, kind, ncpus)
        out.append(tuple(state))
    return out


@dataclass(frozen=True)
class Option:
    """One option a strategy declares: its ``mmstress run`` flag and trace-header field."""
    name: str
    type: Callable[[str], Any]             # parses the flag's text (ValueError: bad input)
    default: Any
    help: str
    flag: str | None = None                # default: --name with - for _
    cli: bool = True                       # False: set by the harness only (replay's steps)
    fmt: Callable[[Any], str] = str        # the value back as flag text
    load: Callable[[Any], Any] = None      # the value from a JSON header (default: as is)

    @property
    def option_flag(self):
        return self.flag or "--" + self.name.replace("_", "-")


def positive_int(text):
    v = int(text)
    if v < 1:
        raise ValueError("an integer >= 1")
    return v


def probability(text):
    v = float(text)
    if not 0.0 <= v <= 1.0:
        raise ValueError("a probability in [0, 1]")
    return v


class Scheduler(Protocol):
    """What the engine calls, and nothing more."""
    name: str
    serialised: bool
    follows_trace: bool
    irq_possible: bool
    grants_runs: bool
    KIND_WEIGHTS: tuple

    def new_execution(self, seed: int, view: SchedView) -> None: ...

    def on_token(self, view: SchedView, cpu: int) -> None: ...

    def next_cpu(self, view: SchedView, current: int, kind: int) -> int: ...

    def irq_due(self, view: SchedView, cpu: int) -> bool: ...

    def run_budget(self, view: SchedView, cpu: int) -> int: ...

    def spend(self, units: int) -> None: ...

    def check(self, step: int, cpu: int, kind: int) -> None: ...

    def expect(self, step: int): ...


class Strategy:
    """Defaults for every hook of ``Scheduler``; a strategy overrides what it uses.

    ``OPTIONS`` become constructor keywords and attributes; ``irq_rate`` (the
    hardirq probability per yield point) is every serialised strategy's."""
    name = ""
    serialised = True
    follows_trace = False
    grants_runs = False                          # True: run_budget and spend are meaningful
    KIND_WEIGHTS = (1,) * len(YIELD_KINDS)       # a plain step's units of a granted run
    OPTIONS: tuple = ()

    def __init__(self, irq_rate=0.0, **options):
        names = {o.name for o in self.OPTIONS}
        for key in options:
            if key not in names:
                raise TypeError(f"{self.name}: no option {key!r}")
        for o in self.OPTIONS:
            setattr(self, o.name, options.get(o.name, o.default))
        self.irq_rate = irq_rate
        self.irq_stream = None

    @property
    def irq_possible(self):
        """May ``irq_due`` ever say yes?  False: the engine does not ask it (a strategy
        that delivers interrupts by another rule than ``irq_rate`` says True)."""
        return self.irq_rate > 0

    def new_execution(self, seed, view):
        self.irq_stream = Stream(seed, "irq")
        self._irq_left = 1 << 62

    def on_token(self, view, cpu):
        """This CPU took the token at ``view.step``: redraw its hardirq countdown from the
        ``irq`` stream there (an override calls this too)."""
        if self.irq_rate > 0:
            self._irq_rng = self.irq_stream.sequence(view.step, cpu)
            self._irq_left = geometric(self._irq_rng, self.irq_rate)

    def next_cpu(self, view, current, kind):
        return current

    def irq_due(self, view, cpu):
        """A hardirq with probability ``irq_rate`` at each yield point: a countdown of
        geometric length, not a draw per step (a yield point costs ~1 us).  The
        countdown is redrawn whenever this CPU takes the token (``on_token``), so it
        depends only on the steps taken, whichever process holds it."""
        if self.irq_rate <= 0:
            return False
        self._irq_left -= 1
        if self._irq_left > 0:
            return False
        self._irq_left = geometric(self._irq_rng, self.irq_rate)
        return True

    def run_budget(self, view, cpu):
        """Units of plain steps ``cpu`` may take without next_cpu being asked: a step
        of weight w < budget would have kept it and only counted w down."""
        return 0

    def spend(self, units):
        """The engine took ``units`` of plain steps in a granted run without asking."""

    def check(self, step, cpu, kind):
        pass

    def expect(self, step):
        return None

    @staticmethod
    def live_choice(view, current):
        """CPUs that can make progress (not spinning, not done); if none, every CPU not
        done -- and never a spinning ``current`` while another CPU is left."""
        runnable = view.runnable()
        live = [c for c in runnable if view.state[c] != SPINNING] or runnable
        if view.state[current] == SPINNING and len(live) > 1:
            live = [c for c in live if c != current] or live
        return live
