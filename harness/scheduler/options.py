"""Scheduling a run: the strategy chosen by ``--sched``, wired into the CPUs.

    none     (default) no engine: the OS interleaves, nothing is recorded;
             the seed reproduces the op streams, not the interleaving
    free     the OS interleaves; every yield point is recorded in order
             (a shared ticket), so the run replays with ``mmstress replay``
    random   one CPU at a time, seeded switches and interrupts
    pct      one CPU at a time, PCT priorities (--depth d, --pct-steps k)
    pos      one CPU at a time, Partial Order Sampling priorities
    dfs      one CPU at a time, forced choices (--schedule), else no preemption
    replay   one CPU at a time, following a recorded trace

Serialised runs (random, pct, pos, dfs, replay) are the same run, bit for bit, for the
same scenario, seed and options: the CPUs' op streams are seeded, only the
token holder runs, interrupts are scheduler decisions at yield points (no
timer), and the run ends after a number of iterations (``--ops``), never
after a time.  ``SchedOptions`` is what a trace header stores to redo a run; the flags
of each strategy's options come from its declaration (``add_arguments``).

Yield points beyond the model's own (spinlocks, allocator entry and exit,
reclaim): per-CPU section entry and exit, the SLUB tid window, mailbox
operations, the top of every workload iteration, and every hardirq.
"""

from kernel_model import debug, spinlock

from harness import scheduler
from harness.scheduler import engine as _engine
from harness.scheduler.trace import steps_to_bytes, trace_hash

STRATEGIES = ("none",) + scheduler.STRATEGIES
SERIAL_DEFAULT_OPS = 300          # iterations per CPU when a serialised run is given a duration
FREE_MAX_STEPS = 1 << 23          # 16 MiB of trace; a longer free run is truncated (not replayable)
SERIAL_MAX_STEPS = 1 << 22
IRQ_STEP_RATE = 1 / 50000         # hardirqs per yield point for each interrupt per second


class SchedOptions:
    """A run's schedule: the strategy, its declared options (``params``), the
    hardirq probability per yield point, and the schedule's own seed.

    ``sched_seed`` (None: the run's seed) seeds the strategy's streams apart
    from the workload's: the same op streams under another schedule, which is
    what auto-repro searches.  Options of other strategies are accepted and
    dropped (an old trace header names them all); unknown names are a TypeError."""

    def __init__(self, strategy="none", irq_rate=0.0, sched_seed=None, trace_steps=None, **params):
        known = scheduler.all_options()
        for key in params:
            if key not in known:
                raise TypeError(f"SchedOptions: no scheduling option {key!r}")
        cls = scheduler.REGISTRY.get(strategy)
        if cls is None and strategy != "none":
            raise ValueError(f"unknown scheduler {strategy!r}: one of {', '.join(STRATEGIES)}")
        own = cls.OPTIONS if cls else ()
        self.strategy = strategy
        self.irq_rate = irq_rate
        self.sched_seed = sched_seed
        self.params = {}
        for o in own:
            if o.cli:
                value = params.get(o.name, o.default)
                self.params[o.name] = o.load(value) if o.load and value is not None else value
        self.trace_steps = list(trace_steps or [])

    def __getattr__(self, name):
        params = self.__dict__.get("params", {})
        if name in params:
            return params[name]
        raise AttributeError(name)

    def __eq__(self, other):
        return isinstance(other, SchedOptions) and self.header() == other.header()

    def __repr__(self):
        return f"SchedOptions({self.header()})"

    def replace(self, **changes):
        d = dict(self.header(), trace_steps=self.trace_steps)
        d.update(changes)
        return SchedOptions(**d)

    @property
    def active(self):
        return self.strategy != "none"

    @property
    def serialised(self):
        cls = scheduler.REGISTRY.get(self.strategy)
        return cls is not None and cls.serialised

    def header(self):
        """What a trace header stores (never the replayed steps themselves)."""
        d = {"strategy": self.strategy, "irq_rate": self.irq_rate}
        if self.sched_seed is not None:
            d["sched_seed"] = self.sched_seed
        d.update((k, list(v) if isinstance(v, tuple) else v) for k, v in self.params.items())
        return d

    def args(self):
        """Command-line options that redo this schedule (with the run's --seed)."""
        if self.strategy in ("none", "replay", "guided"):     # a trace, not flags, redoes these
            return []
        out = ["--sched", self.strategy]
        cls = scheduler.REGISTRY[self.strategy]
        for o in cls.OPTIONS:
            if o.cli and self.params.get(o.name) not in (None, ()):
                out += [o.option_flag, o.fmt(self.params[o.name])]
        if self.sched_seed is not None:
            out += ["--sched-seed", str(self.sched_seed)]
        return out


def add_arguments(parser):
    """``mmstress run``'s flags for every strategy's declared options (default None:
    the strategy's own default), and --sched-seed."""
    seen = set()
    for cls in scheduler.REGISTRY.values():
        for o in cls.OPTIONS:
            if not o.cli or o.name in seen:
                continue
            seen.add(o.name)
            parser.add_argument(o.option_flag, dest="sched_" + o.name, type=str, default=None,
                                metavar=o.name.upper(), help=f"{cls.name}: {o.help}")
    parser.add_argument("--sched-seed", type=int, default=None, help="seed of the schedule's "
                        "random choices, apart from the workload's (default: the run's --seed)")


def params_from_args(args, strategy):
    """The declared options given on the command line for ``strategy``; ValueError
    names the flag and what it allows.  A flag of another strategy is an error."""
    cls = scheduler.REGISTRY.get(strategy)
    own = {o.name for o in cls.OPTIONS} if cls else set()
    out = {}
    for name, o in scheduler.all_options().items():
        text = getattr(args, "sched_" + name, None)
        if text is None:
            continue
        if name not in own:
            users = [c.name for c in scheduler.REGISTRY.values() if o in c.OPTIONS]
            raise ValueError(f"{o.option_flag} is an option of --sched {'/'.join(users)}, "
                             f"not of --sched {strategy}")
        try:
            out[name] = o.type(text)
        except ValueError as exc:
            raise ValueError(f"{o.option_flag} {text}: allowed: {exc}") from None
    seed = getattr(args, "sched_seed", None)
    if seed is not None and seed < 0:
        raise ValueError(f"--sched-seed {seed}: allowed: an integer >= 0")
    return out, seed


def guess_steps(scenario):
    """PCT's k before anything was measured: a run's steps from its size."""
    ops = scenario.ops or SERIAL_DEFAULT_OPS
    return max(1000, ops * scenario.cpus * 20)


def options_for(strategy, scenario, depth=None, steps=None, trace_steps=None, sched_seed=None,
                **params):
    """Options for a scenario: the interrupt rate becomes a per-step probability; PCT's
    k, when not given, is guessed from the scenario's size."""
    irq = min(0.05, scenario.irq_rate * IRQ_STEP_RATE) if scenario.irq_rate else 0.0
    if depth is not None:
        params["depth"] = depth
    if strategy == "pct":
        params["steps"] = steps or guess_steps(scenario)
    elif steps:
        params["steps"] = steps
    return SchedOptions(strategy=strategy, irq_rate=irq, sched_seed=sched_seed,
                        trace_steps=trace_steps, **params)


def arena_sections(opts, ncpus):
    if not opts.active:
        return []
    return _engine.arena_sections(ncpus, FREE_MAX_STEPS if opts.strategy == "free"
                                  else SERIAL_MAX_STEPS)


def make_engine(opts, node, seed, ncpus):
    """Before fork, in the machine: the engine every CPU shares (None for ``none``)."""
    if not opts.active:
        return None
    params = dict(opts.params)
    if opts.strategy in ("replay", "guided"):
        params["trace_steps"] = opts.trace_steps
    strat = scheduler.make(opts.strategy, irq_rate=opts.irq_rate, **params)
    pool = node.locks
    sched_seed = seed if opts.sched_seed is None else opts.sched_seed
    return _engine.SchedEngine(node, strat, sched_seed, ncpus,
                               lock_owner=lambda lid: spinlock.owner_cpu(pool.owner[lid]),
                               lock_name=pool.name_of)


def attach(engine, hooks):
    """In a CPU, after ``engine.start``: the yield points go through its debug hooks.

    Besides the model's own (``yield_point``), the per-CPU section entry and exit
    and the SLUB tid window are yield points.  A hook no checker listens to (the
    model's no-op) becomes a direct call of the engine's yield point with the
    kind bound; one a checker listens to calls the checker first."""
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
        if name not in hooks.__dict__ and getattr(type(hooks), name) is getattr(debug.DebugHooks, name):
            setattr(hooks, name, engine.point_hook(kind))
            continue

        def wrapped(*args, _old=old, _point=engine.point_hook(kind), **kw):
            result = _old(*args, **kw)
            _point()
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
