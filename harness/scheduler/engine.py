"""The scheduling engine: yield points, the token, the trace, across CPU processes.

Serialised strategies (random, pct, replay): exactly one CPU process holds
the token and runs; the others wait for it.  At a yield point the holder
numbers the step, records (CPU, kind), asks the strategy who runs next and,
only if that is another CPU, hands the token over: it writes the token word
and posts the next CPU's semaphore.  A waiting CPU with a core of its own
(CPUs <= usable cores) spins on the token word first (POLL_ROUNDS, ~1 ms: a
hand-off then costs about a microsecond); with more CPUs than cores spinning
would steal the holder's core, so it sleeps on its semaphore at once (a
futex wake-up, tens of microseconds).  The spin adapts (``adapt_poll``): one
that fails halves the next, one that succeeds doubles it, so on a machine
whose cores are busy with other work the waiting CPU soon sleeps instead.
Free strategy: the OS picks who runs.  A shared ticket (one lock) is held by
a CPU from one yield point to the next: at each yield point the CPU records
its step and lets the ticket go, and whichever CPU takes it first runs (a
waiting CPU with a core of its own polls the lock before it sleeps on it, so
letting go costs no wake-up).  Code between two yield points is therefore
atomic, exactly as replay runs it, so the recorded order is the order that happened -- including
lockless reads of shared state (cmpxchg loops, watermark checks), which a
ticket taken only to number steps would miss.  Real interrupts arrive at
any time and are taken at the next yield point (harness.runtime.irq ``hold``).
Truly parallel execution with no record is ``--sched none``.

Arena sections::

    sched_meta   i64[16]        line 0, written by the running CPU at its steps:
                                  0 step, 1 consecutive spin yields, 2 trace
                                  truncated, 3 step of divergence, 4 step at
                                  which the first violation was reported;
                                line 1, written at hand-offs and stops only --
                                what a waiting CPU spins on, kept off the line
                                the runner writes at every step:
                                  8 token CPU, 9 stop flag (1 stop, 2 deadlock,
                                  3 divergence)
    sched_state  i64[ncpus]     RUNNABLE / SPINNING / DONE
    sched_prio   i64[ncpus]     strategy-owned priorities (PCT)
    sched_wait   i64[ncpus]     lock id + 1 a spinning CPU waits for, 0 none,
                                RELAXING for a CPU whose last step was cpu_relax()
    sched_obj    i64[ncpus]     object id + 1 of each CPU's last yield point, 0 none
                                (serialised modes; POS's "same object" races)
    sched_count  i64[4]         strategy-owned counters (PCT: 0 steps with a choice,
                                1 priority drops so far)
    sched_trace  u16[max_steps] step i (1-based) at [i-1]: cpu << 8 | kind

The strategy is called only through ``base.Scheduler`` (new_execution,
on_token, next_cpu, irq_due, and check/expect for one that follows a trace).

A strategy takes no interrupt decision inside a hardirq or softirq (replay
delivers wherever the recording took one): a handler's own yield points --
shared accesses are points -- would otherwise raise the next interrupt, and
the interrupts alone would run.
Interrupts in serialised modes are strategy decisions taken at yield points
(``irq_due``, asked only of a strategy whose ``irq_possible`` is true) and
delivered by calling the CPU's handler there; the first yield point of the
handler records (CPU, irq), which replay follows.

The cost of a yield point is the cost of every reproducible run (every shared
access is one), so its hot path is built once per CPU process, in ``start``,
as closures over locals (``_serial_points``, ``_free_points``): no attribute
chains, no per-step objects, the strategy asked through bound methods.
"""

import multiprocessing
import os
import time

from kernel_model.context import in_interrupt as _in_interrupt

from .base import DONE, KIND_CODE, RUNNABLE, SPINNING, YIELD_KINDS, track
from .replay import Divergence
from .trace import steps_to_bytes, trace_hash

META_STEP, META_SPINS, META_TRUNC, META_DIVERGED, META_FIRST_BUG = range(5)
META_TOKEN, META_STOP = 8, 9          # their own cache line (see the layout above)
META_WORDS = 16
STOP, STOP_DEADLOCK, STOP_DIVERGED = 1, 2, 3
RELAXING = -1                      # sched_wait of a CPU busy-waiting in cpu_relax()
RELAX_LOCK_ID = -2                 # its "lock id" in a deadlock cycle (checkers.deadlock.RELAXING)
POLL_ROUNDS = 20000                # ~1 ms of polling the token word before sleeping
TICKET_POLL_ROUNDS = 5000          # free mode: ~1 ms of polling the ticket before sleeping
MIN_POLL_ROUNDS = 64               # adaptive polling's floor (a few microseconds)

_SPIN, _UNLOCK, _IRQ = KIND_CODE["spin"], KIND_CODE["unlock"], KIND_CODE["irq"]
_DONE, _LOOP_END, _OTHER = KIND_CODE["done"], KIND_CODE["loop_end"], KIND_CODE["other"]
_WAIT, _RELAX = KIND_CODE["wait"], KIND_CODE["relax"]
_TRACKED = frozenset((_SPIN, _WAIT, _UNLOCK, _RELAX))   # steps that may change a CPU's state
# What a busy-wait loop does between two cpu_relax(): read its flag (a shared access or a
# per-CPU variable).  Not progress: a relaxing CPU stays relaxing and the spin count goes on,
# so such a step never settles a CPU (the next progress step must be tracked).
_POLLING = frozenset({KIND_CODE["access"], KIND_CODE["percpu_enter"], KIND_CODE["percpu_exit"]})
# The model marks each step after its effect (the lock is held, the trylock
# tried, the read done), in both modes, so a free recording and its serialised
# replay stop at the same places; these are the names the trace records.
_AS = {"locked": "lock", "trylocked": "lock", "peeked": "mailbox"}
_CODE = dict(KIND_CODE, **{name: KIND_CODE[kind] for name, kind in _AS.items()})


def adapt_poll(rounds, top, won):
    """The next poll length after one that ``won`` (the token or ticket came while
    polling) or not, as an adaptive mutex spins: a poll that keeps failing means the
    holder is not running (a loaded machine: other processes have the cores), and
    spinning then only takes time from it; one that succeeds may poll longer."""
    if won:
        return min(top, rounds * 2)
    return max(MIN_POLL_ROUNDS, rounds // 2)


def _not_started(kind_name, obj=None):
    """A yield point before ``start`` or after ``cpu_done``: not a step."""


class SchedStop(BaseException):
    """This CPU must stop: another CPU found a deadlock or a divergence.

    A BaseException: it must unwind through workload code and the guarded
    calls that catch ``Exception``, as a kill would."""


class SchedDeadlock(BaseException):
    """Every CPU that is not done is spinning on a lock: the run cannot go on."""

    def __init__(self, text, cycle):
        super().__init__(text)
        self.cycle = cycle


def arena_sections(ncpus, max_steps=1 << 20):
    return [("sched_meta", "q", META_WORDS), ("sched_state", "q", ncpus), ("sched_prio", "q", ncpus),
            ("sched_wait", "q", ncpus), ("sched_obj", "q", ncpus), ("sched_count", "q", 4),
            ("sched_trace", "H", max_steps)]


def obj_key(obj):
    """What ``sched_obj`` stores for a yield point's object: a lock's id + 1, an int
    object (an address) + 1; 0 for none or an object with no integer id."""
    if obj is None:
        return 0
    if isinstance(obj, int):
        return obj + 1
    ident = getattr(obj, "id", None)
    return ident + 1 if isinstance(ident, int) else 0


class ArenaView:
    """SchedView over the arena, shared by every CPU process."""

    def __init__(self, arena, ncpus):
        self.ncpus = ncpus
        self.meta = arena.v["sched_meta"]
        self.state = arena.v["sched_state"]
        self.prio = arena.v["sched_prio"]
        self.obj = arena.v["sched_obj"]
        self.count = arena.v["sched_count"]

    @property
    def step(self):
        return self.meta[META_STEP]

    def runnable(self):
        return [c for c in range(self.ncpus) if self.state[c] != DONE]

    def progressing(self):
        return [c for c in range(self.ncpus) if self.state[c] == RUNNABLE]


class SchedEngine:
    """Create before forking the CPUs (it makes the semaphores)."""

    def __init__(self, pgdat, strategy, seed, ncpus, lock_owner=None, lock_name=None):
        ctx = multiprocessing.get_context("fork")
        self.strategy = strategy
        self.serialised = strategy.serialised
        self.seed = seed
        self.ncpus = ncpus
        arena = pgdat.arena
        self.view = ArenaView(arena, ncpus)
        self.meta = self.view.meta
        self.trace = arena.v["sched_trace"]
        self.wait = arena.v["sched_wait"]
        self.max_steps = len(self.trace)
        self.ticket = ctx.Lock()
        try:
            cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cores = os.cpu_count() or 1
        self.poll = ncpus <= cores              # polling only where it steals no CPU's core
        self.poll_rounds = POLL_ROUNDS if self.poll else 0   # per process, adapted (adapt_poll)
        self.gate = None                   # free mode: the CPU's Irq, held off while recording
        self.sems = [ctx.Semaphore(0) for _ in range(ncpus)]
        self.lock_owner = lock_owner or (lambda lock_id: None)
        self.lock_name = lock_name or (lambda lock_id: f"lock {lock_id}")
        self.replay = strategy.follows_trace
        self.cpu = None
        self.deliver_irq = None
        self.sample = None                 # serialised runs: sample(step) at every step whose
        self.sample_mask = -1              # bits under sample_mask are 0 (the machine sets both:
                                           # samples.Sampler.tick, which decides if one is due)
        strategy.new_execution(seed, self.view)
        self.meta[META_TOKEN] = strategy.next_cpu(self.view, 0, KIND_CODE["start"]) if self.serialised else -1

    # -- per CPU process ------------------------------------------------------------
    yield_point = staticmethod(_not_started)   # start() puts this CPU's hot path here

    def start(self, cpu, deliver_irq=None, irq_gate=None):
        """In CPU ``cpu``'s process, before its first instruction.

        ``deliver_irq()``: serialised modes raise a hardirq through it.
        ``irq_gate``: free mode -- the CPU's interrupt controller (``hold``,
        ``pending``, ``deliver_held()``, as harness.runtime.irq.Irq): real interrupts
        arrive at any time but are taken at the next yield point, after its
        step is recorded, which is where a replay delivers them.

        From here on ``self.yield_point(kind_name, obj=None)`` is this CPU's yield
        point and ``point_hook(kind_name)`` a hook that is one
        (``harness.scheduler.options.attach`` puts them in the debug hooks)."""
        self.cpu = cpu
        self.deliver_irq = deliver_irq
        self.gate = irq_gate
        if irq_gate is not None:
            irq_gate.hold = True
        make = self._serial_points(cpu) if self.serialised else self._free_points(cpu)
        self.yield_point = make(None)
        self._hooks = {}
        self._make_point = make
        if self.serialised:
            self._wait_for_token()
            self.strategy.on_token(self.view, cpu)
        else:
            self.ticket.acquire()

    def point_hook(self, kind_name):
        """After ``start``: a debug hook that is only a yield point of ``kind_name``
        (the hook's own arguments are ignored)."""
        hook = self._hooks.get(kind_name)
        if hook is None:
            hook = self._hooks[kind_name] = self._make_point(_CODE.get(kind_name, _OTHER))
        return hook

    def _wait_for_token(self):
        """Sleep until the token is ours.  With a core for every CPU process, poll the
        token word first: a hand-off then costs about a microsecond instead of a
        semaphore wake-up (tens of microseconds).  Posts left over from hand-offs
        taken while polling are harmless: the loop re-checks the token."""
        me, meta = self.cpu, self.meta
        rounds = self.poll_rounds
        if rounds:
            for _ in range(rounds):
                if meta[META_TOKEN] == me or meta[META_STOP]:
                    self.poll_rounds = adapt_poll(rounds, POLL_ROUNDS, True)
                    break
            else:
                self.poll_rounds = adapt_poll(rounds, POLL_ROUNDS, False)
        while meta[META_TOKEN] != me:
            self.sems[me].acquire()
            if meta[META_STOP]:
                raise SchedStop()
        if meta[META_STOP]:
            raise SchedStop()

    def _record(self, me, kind):
        step = self.meta[META_STEP] + 1
        self.meta[META_STEP] = step
        if step <= self.max_steps:
            self.trace[step - 1] = me << 8 | kind
        else:
            self.meta[META_TRUNC] = 1
        if not step & self.sample_mask:
            self.sample(step)
        return step

    def _serial_points(self, me):
        """CPU ``me``'s yield points in a serialised mode: ``make(kind)`` -> a point.

        A point numbers and records the step, follows (replay) or tracks it, lets
        the strategy choose who runs next and whether an interrupt comes here.
        Everything it touches at every step is a local of this closure.
        ``make(None)`` is ``yield_point(kind_name, obj=None)``; ``make(code)`` is a
        point of that kind whatever it is called with (a debug hook's own
        arguments are ignored), one call where a wrapper would be two."""
        meta, trace, max_steps = self.meta, self.trace, self.max_steps
        sample, sample_mask = self.sample, self.sample_mask
        view, strategy = self.view, self.strategy
        objs = view.obj
        next_cpu, irq_due = strategy.next_cpu, strategy.irq_due
        replay, deliver = self.replay, self.deliver_irq
        irqs = deliver is not None and (replay or strategy.irq_possible)
        check, track, handoff, deadlock = self._check, self._track, self._handoff, self._deadlock
        tag = me << 8
        obj_set = False                  # this CPU's sched_obj slot is not 0 (only it writes it)
        # settled: since this CPU last took the token, a step showed it RUNNABLE and the
        # consecutive-spins count 0.  Only the token holder changes either (another CPU's
        # unlock only wakes a spinner), so while settled a plain step need not read them.
        settled = False
        # A granted run (Strategy.grants_runs): plain steps of a settled CPU whose weights
        # (strategy.KIND_WEIGHTS) stay under ``left`` do not ask next_cpu; ``spent``
        # tells the strategy how many units it did not see, before it is next asked.
        grants = strategy.grants_runs and not replay
        weights, run_budget, spend = strategy.KIND_WEIGHTS, strategy.run_budget, strategy.spend
        left = spent = 0

        def make(fixed):
            def point(kind_name=None, obj=None, *_):
                nonlocal obj_set, settled, left, spent
                if self.cpu is None:
                    return                   # after cpu_done: no more steps
                if fixed is None:
                    kind = _CODE.get(kind_name, _OTHER)
                else:
                    kind, obj = fixed, None
                if meta[META_STOP]:
                    raise SchedStop()
                step = meta[META_STEP] + 1
                meta[META_STEP] = step
                if step <= max_steps:
                    trace[step - 1] = tag | kind
                else:
                    meta[META_TRUNC] = 1
                if not step & sample_mask:
                    sample(step)
                if replay:
                    check(step, me, kind)
                if obj is not None or obj_set:
                    key = obj_key(obj)
                    objs[me] = key
                    obj_set = key != 0
                ask = True
                if kind in _TRACKED:
                    settled = False
                    if track(me, kind, obj):
                        deadlock()
                elif not settled:
                    if track(me, kind, obj):         # a plain step: never a deadlock
                        deadlock()
                    settled = kind not in _POLLING
                elif weights[kind] < left:           # a plain step inside the granted run
                    w = weights[kind]
                    left -= w
                    spent += w
                    ask = False
                if ask:
                    if spent:
                        spend(spent)
                        spent = 0
                    nxt = next_cpu(view, me, kind)
                    if nxt != me:
                        handoff(nxt)
                        settled = False
                        left = 0
                    elif grants:
                        left = run_budget(view, me)
                if (irqs and kind != _IRQ and (replay or not _in_interrupt())
                        and irq_due(view, me)):
                    deliver()
            return point
        return make

    def _free_points(self, me):
        """CPU ``me``'s yield points in free mode (``make`` as ``_serial_points``).

        This CPU holds the ticket between yield points; at each one it records the
        step, then lets go so another CPU can run first.  With a core for every
        CPU a waiting CPU polls the ticket (TICKET_POLL_ROUNDS non-blocking tries)
        before it sleeps on it: it takes the ticket in the gap between a release
        and the holder's next acquire, and a release wakes nobody (no futex
        wake-up per step)."""
        meta, trace, max_steps = self.meta, self.trace, self.max_steps
        sample, sample_mask = self.sample, self.sample_mask
        ticket, gate = self.ticket, self.gate
        release, acquire = ticket.release, ticket.acquire
        rounds = TICKET_POLL_ROUNDS if self.poll else 0      # adapted (adapt_poll)
        track, deadlock = self._track, self._deadlock
        tag = me << 8
        # settled at: the step after this CPU's last one, if that step showed it RUNNABLE
        # with no spins counted -- true still if no other CPU took the ticket since.
        settled_at = -1

        def make(fixed):
            def point(kind_name=None, obj=None, *_):
                nonlocal rounds, settled_at
                if self.cpu is None:
                    return                   # after cpu_done: no more steps
                if fixed is None:
                    kind = _CODE.get(kind_name, _OTHER)
                else:
                    kind, obj = fixed, None
                step = meta[META_STEP] + 1
                meta[META_STEP] = step
                if step <= max_steps:
                    trace[step - 1] = tag | kind
                else:
                    meta[META_TRUNC] = 1
                if not step & sample_mask:
                    sample(step)
                if kind in _TRACKED:
                    if track(me, kind, obj):
                        deadlock(ticket)
                elif step != settled_at or kind in _POLLING:   # another CPU ran since
                    track(me, kind, obj)             # our last step, or a busy-wait's poll
                    settled_at = -1 if kind in _POLLING else step + 1
                else:
                    settled_at = step + 1
                release()
                if kind == _WAIT:
                    time.sleep(0.0005)           # a barrier: others have real work to do
                elif kind == _SPIN or kind == _RELAX:
                    os.sched_yield()             # let the lock holder (the flag's writer) go first
                if not acquire(False):
                    if rounds:
                        for _ in range(rounds):
                            if acquire(False):
                                rounds = adapt_poll(rounds, TICKET_POLL_ROUNDS, True)
                                break
                        else:
                            rounds = adapt_poll(rounds, TICKET_POLL_ROUNDS, False)
                            acquire()
                    else:
                        acquire()
                if meta[META_STOP]:
                    release()
                    raise SchedStop()
                if gate is not None and gate.pending:
                    gate.deliver_held()          # interrupts land at yield points only
            return point
        return make

    def _track(self, me, kind, obj):
        """Who is spinning (on which lock), in both modes alike so a replay sees the
        deadlock at the step its recording did; True: every CPU left is stuck."""
        view, meta = self.view, self.meta
        state = view.state
        if kind == _SPIN or kind == _WAIT:
            track(state, me, kind, self.ncpus)      # the rule a trace is read back with
            self.wait[me] = (obj.id + 1) if obj is not None else 0
            meta[META_SPINS] += 1
            return meta[META_SPINS] > 64 * self.ncpus and self._stuck()
        if kind == _RELAX:                          # a busy-wait: runnable, but not progress
            if state[me] != RUNNABLE:
                track(state, me, kind, self.ncpus)
            self.wait[me] = RELAXING
            meta[META_SPINS] += 1
            return meta[META_SPINS] > 64 * self.ncpus and self._stuck()
        if kind in _POLLING:
            if state[me] != RUNNABLE:
                track(state, me, kind, self.ncpus)
                self.wait[me] = 0
            return False
        if state[me] != RUNNABLE or kind == _UNLOCK:  # else track() would change nothing
            track(state, me, kind, self.ncpus)
            self.wait[me] = 0
        elif self.wait[me]:                         # its busy-wait is over
            self.wait[me] = 0
        meta[META_SPINS] = 0
        return False

    def _stuck(self):
        """No CPU left can make progress: each spins on a lock, waits at the end-of-run
        barrier or busy-waits in cpu_relax() (a runnable CPU whose last step was not a
        relax can go on)."""
        state, wait = self.view.state, self.wait
        return all(state[c] != RUNNABLE or wait[c] == RELAXING for c in range(self.ncpus))

    def _check(self, step, me, kind):
        """Replaying: the recorded CPU must reach the recorded kind of step here;
        otherwise stop every CPU and let the Divergence name the step."""
        try:
            self.strategy.check(step, me, kind)
        except Divergence:
            self.meta[META_DIVERGED] = step
            self._stop(STOP_DIVERGED)
            raise

    def _handoff(self, nxt):
        me = self.cpu
        self.meta[META_TOKEN] = nxt
        self.sems[nxt].release()
        self._wait_for_token()
        self.strategy.on_token(self.view, me)

    def should_stop(self):
        """At the top of a CPU's loop: replaying, stop exactly where the recording did
        (the recording's next step for this CPU is its ``loop_end``)."""
        if not self.replay or self.cpu is None:
            return False
        return self.strategy.expect(self.meta[META_STEP] + 1) == (self.cpu, _LOOP_END)

    def cpu_done(self):
        """This CPU finished: pass the token on for good; no more yield points after it."""
        me = self.cpu
        if me is None:
            return
        self.cpu = None
        self.deliver_irq = None
        if not self.serialised:
            self._record(me, _DONE)
            self.view.state[me] = DONE
            self.ticket.release()
            return
        self.view.state[me] = DONE
        if self.meta[META_STOP]:
            return
        step = self._record(me, _DONE)
        if self.replay:
            self._check(step, me, _DONE)
        live = self.view.runnable()
        if live:
            nxt = self.strategy.next_cpu(self.view, me, KIND_CODE["done"])
            if nxt == me or nxt not in live:
                nxt = live[0]
            self.meta[META_TOKEN] = nxt
            self.sems[nxt].release()

    def _stop(self, why):
        self.meta[META_STOP] = why
        for s in self.sems:
            s.release()

    def stop_all(self):
        """From the machine: wake every waiting CPU so it can exit."""
        self._stop(STOP)

    def _deadlock(self, ticket=None):
        """Stop every CPU and raise the report; ``ticket``: free mode's, let go only
        once the stop is visible (a CPU taking it must not record another step)."""
        cycle = []
        lines = ["BUG: deadlock: every CPU is spinning on a lock"]
        for c in range(self.ncpus):
            if self.view.state[c] == RUNNABLE and self.wait[c] == RELAXING:
                cycle.append((c, RELAX_LOCK_ID, None))       # the deadlock checker's RELAXING
                lines.append(f"  CPU {c} busy-waits in cpu_relax() for a condition no other "
                             f"CPU can make true")
                continue
            if self.view.state[c] != SPINNING:
                continue
            lid = self.wait[c] - 1
            owner = self.lock_owner(lid) if lid >= 0 else None
            cycle.append((c, lid, owner))
            if lid < 0:
                lines.append(f"  CPU {c} waits at the end-of-run barrier for the other CPUs")
                continue
            held_by = f"held by CPU {owner}" if owner is not None else "holder unknown"
            lines.append(f"  CPU {c} waits for {self.lock_name(lid)}, {held_by}")
        self._stop(STOP_DEADLOCK)
        if ticket is not None:
            ticket.release()
        raise SchedDeadlock("\n".join(lines), cycle)

    # -- after the run (machine process) ------------------------------------------------------
    def note_violation(self):
        """A checker reported: remember the step of the first report (minimize cuts
        there); returns the step, which orders reports of a scheduled run."""
        step = self.meta[META_STEP]
        if not self.meta[META_FIRST_BUG]:
            self.meta[META_FIRST_BUG] = step
        return step

    def steps(self):
        n = min(self.meta[META_STEP], self.max_steps)
        raw = self.trace[:n]
        return [(v >> 8, v & 0xFF) for v in raw]

    def hash(self, violation_kinds=()):
        return trace_hash(steps_to_bytes(self.steps()), violation_kinds)

    def truncated(self):
        return bool(self.meta[META_TRUNC])


assert YIELD_KINDS[_IRQ] == "irq"
