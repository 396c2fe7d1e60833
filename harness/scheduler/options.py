"""Scheduling a run: the strategy chosen by ``--sched``, wired into the CPUs.

    none     (default) no engine: the OS interleaves, nothing is recorded;
             the seed reproduces the op streams, not the interleaving
    free     the OS interleaves; every yield point is recorded in order
             (a shared ticket), so the run replays with ``mmstress replay``
    random   one CPU at a time, seeded switches and interrupts
    pct      one CPU at a time, PCT priorities (--depth d)
    replay   one CPU at a time, following a recorded trace

Serialised runs (random, pct, replay) are the same run, bit for bit, for the
same scenario, seed and options: the CPUs' op streams are seeded, only the
token holder runs, interrupts are scheduler decisions at yield points (no
timer), and the run ends after a number of iterations (``--ops``), never
after a time.  ``SchedOptions`` is what a trace header stores to redo a run.

Yield points beyond the model's own (spinlocks, allocator entry and exit,
reclaim): per-CPU section entry and exit, the SLUB tid window, mailbox
operations, the top of every workload iteration, and every hardirq.
"""

from dataclasses import asdict, dataclass, field

from kernel_model import spinlock

from harness import scheduler
from harness.scheduler import engine as _engine
from harness.scheduler.trace import steps_to_bytes, trace_hash

STRATEGIES = ("none",) + scheduler.STRATEGIES
SERIAL_DEFAULT_OPS = 300          # iterations per CPU when a serialised run is given a duration
FREE_MAX_STEPS = 1 << 23          # 16 MiB of trace; a longer free run is truncated (not replayable)
SERIAL_MAX_STEPS = 1 << 22
IRQ_STEP_RATE = 1 / 50000         # hardirqs per yield point for each interrupt per second


@dataclass
class SchedOptions:
    strategy: str = "none"
    depth: int = 3                 # pct: bug depth d
    steps: int = 20000             # pct: k, the expected number of steps
    switch_prob: float = 1 / 32    # random: P(switch) per yield point
    irq_rate: float = 0.0          # serialised: P(hardirq) per yield point
    trace_steps: list = field(default_factory=list, repr=False)   # replay, guided only

    @property
    def active(self):
        return self.strategy != "none"

    @property
    def serialised(self):
        return self.strategy in ("random", "pct", "replay", "guided")

    def header(self):
        """What a trace header stores (never the replayed steps themselves)."""
        d = asdict(self)
        d.pop("trace_steps")
        return d

    def args(self):
        """Command-line options that redo this schedule."""
        if self.strategy in ("none", "replay", "guided"):
            return []
        out = ["--sched", self.strategy]
        if self.strategy == "pct":
            out += ["--depth", str(self.depth)]
        return out


def options_for(strategy, scenario, depth=3, steps=None, trace_steps=None):
    """Options for a scenario: the interrupt rate becomes a per-step probability."""
    irq = min(0.05, scenario.irq_rate * IRQ_STEP_RATE) if scenario.irq_rate else 0.0
    ops = scenario.ops or SERIAL_DEFAULT_OPS
    return SchedOptions(strategy=strategy, depth=depth,
                        steps=steps or max(1000, ops * scenario.cpus * 20),
                        irq_rate=irq, trace_steps=list(trace_steps or []))


def arena_sections(opts, ncpus):
    if not opts.active:
        return []
    return _engine.arena_sections(ncpus, FREE_MAX_STEPS if opts.strategy == "free"
                                  else SERIAL_MAX_STEPS)


def make_engine(opts, node, seed, ncpus):
    """Before fork, in the machine: the engine every CPU shares (None for ``none``)."""
    if not opts.active:
        return None
    if opts.strategy in ("replay", "guided"):
        strat = scheduler.make(opts.strategy, trace_steps=opts.trace_steps)
    else:
        strat = scheduler.make(opts.strategy, depth=opts.depth, steps=opts.steps,
                               switch_prob=opts.switch_prob, irq_rate=opts.irq_rate)
    pool = node.locks
    return _engine.SchedEngine(node, strat, seed, ncpus,
                               lock_owner=lambda lid: spinlock.owner_cpu(pool.owner[lid]),
                               lock_name=pool.name_of)


def attach(engine, hooks):
    """In a CPU, after its hooks are built: the extra yield points go through them."""
    yp = engine.yield_point
    own = hooks.__dict__.get("yield_point")
    if own is None:
        hooks.yield_point = yp
    else:
        def both(kind, obj=None, _own=own):
            _own(kind, obj)
            yp(kind, obj)
        hooks.yield_point = both
    for name, kind in (("percpu_enter", "percpu_enter"), ("percpu_exit", "percpu_exit"),
                       ("slab_tid_window", "slab")):
        old = getattr(hooks, name)

        def wrapped(*args, _old=old, _kind=kind, **kw):
            result = _old(*args, **kw)
            yp(_kind)
            return result
        setattr(hooks, name, wrapped)


def outcome(engine, steps, violation_kinds):
    """After the run, in the machine: the schedule's part of the report (``steps``:
    ``engine.steps()``, read once by the caller)."""
    meta = engine.meta
    return {"steps": len(steps), "hash": trace_hash(steps_to_bytes(steps), violation_kinds),
            "truncated": engine.truncated(),
            "diverged_at": int(meta[_engine.META_DIVERGED]) or None,
            "violation_step": int(meta[_engine.META_FIRST_BUG]) or None,
            "stopped": {0: None, 1: "stop", 2: "deadlock", 3: "diverged"}.get(
                int(meta[_engine.META_STOP]), "stop")}
