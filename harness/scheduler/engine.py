"""The scheduling engine: yield points, the token, the trace, across CPU processes.

Serialised strategies (random, pct, replay): exactly one CPU process holds
the token and runs; the others sleep on their own semaphore.  At a yield
point the holder numbers the step, records (CPU, kind), asks the strategy
who runs next and, only if that is another CPU, hands the token over (one
semaphore post and one wait, ~35 us) -- so a strategy must switch rarely.
Free strategy: the OS picks who runs.  A shared ticket (one lock) is held by
a CPU from one yield point to the next: at each yield point the CPU records
its step and lets the ticket go, and whichever CPU the OS wakes first takes
it.  Code between two yield points is therefore atomic, exactly as replay
runs it, so the recorded order is the order that happened -- including
lockless reads of shared state (cmpxchg loops, watermark checks), which a
ticket taken only to number steps would miss.  Real interrupts arrive at
any time and are taken at the next yield point (harness.runtime.irq ``hold``).
Truly parallel execution with no record is ``--sched none``.

Arena sections::

    sched_meta   i64[8]         0 step, 1 token CPU, 2 consecutive spin yields,
                                3 stop flag (1 stop, 2 deadlock, 3 divergence),
                                4 trace truncated, 5 step of divergence,
                                6 step at which the first violation was reported
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
(``irq_due``) and delivered by calling the CPU's handler there; the first
yield point of the handler records (CPU, irq), which replay follows.
"""

import multiprocessing
import os
import time

from kernel_model.context import in_interrupt as _in_interrupt

from .base import DONE, KIND_CODE, RUNNABLE, SPINNING, YIELD_KINDS, track
from .replay import Divergence
from .trace import steps_to_bytes, trace_hash

META_STEP, META_TOKEN, META_SPINS, META_STOP, META_TRUNC, META_DIVERGED, META_FIRST_BUG = range(7)
STOP, STOP_DEADLOCK, STOP_DIVERGED = 1, 2, 3
RELAXING = -1                      # sched_wait of a CPU busy-waiting in cpu_relax()
RELAX_LOCK_ID = -2                 # its "lock id" in a deadlock cycle (checkers.deadlock.RELAXING)
POLL_ROUNDS = 20000                # ~1 ms of polling the token word before sleeping
_SPIN, _UNLOCK, _IRQ = KIND_CODE["spin"], KIND_CODE["unlock"], KIND_CODE["irq"]
_DONE, _LOOP_END, _OTHER = KIND_CODE["done"], KIND_CODE["loop_end"], KIND_CODE["other"]
_WAIT, _RELAX = KIND_CODE["wait"], KIND_CODE["relax"]
# What a busy-wait loop does between two cpu_relax(): read its flag (a shared access or a
# per-CPU variable).  Not progress: a relaxing CPU stays relaxing and the spin count goes on.
_POLLING = frozenset({KIND_CODE["access"], KIND_CODE["percpu_enter"], KIND_CODE["percpu_exit"]})
# The model marks each step after its effect (the lock is held, the trylock
# tried, the read done), in both modes, so a free recording and its serialised
# replay stop at the same places; these are the names the trace records.
_AS = {"locked": "lock", "trylocked": "lock", "peeked": "mailbox"}


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
    return [("sched_meta", "q", 8), ("sched_state", "q", ncpus), ("sched_prio", "q", ncpus),
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
        self.gate = None                   # free mode: the CPU's Irq, held off while recording
        self.sems = [ctx.Semaphore(0) for _ in range(ncpus)]
        self.lock_owner = lock_owner or (lambda lock_id: None)
        self.lock_name = lock_name or (lambda lock_id: f"lock {lock_id}")
        self.replay = strategy.follows_trace
        self.cpu = None
        self.deliver_irq = None
        self.obj_set = False               # per process: this CPU's sched_obj slot is not 0
        self.sample = None                 # serialised runs: sample(step) at every step whose
        self.sample_mask = -1              # bits under sample_mask are 0 (the machine sets both:
                                           # samples.Sampler.tick, which decides if one is due)
        strategy.new_execution(seed, self.view)
        self.meta[META_TOKEN] = strategy.next_cpu(self.view, 0, KIND_CODE["start"]) if self.serialised else -1

    # -- per CPU process ------------------------------------------------------------
    def start(self, cpu, deliver_irq=None, irq_gate=None):
        """In CPU ``cpu``'s process, before its first instruction.

        ``deliver_irq()``: serialised modes raise a hardirq through it.
        ``irq_gate``: free mode -- the CPU's interrupt controller (``hold``,
        ``pending``, ``deliver_held()``, as harness.runtime.irq.Irq): real interrupts
        arrive at any time but are taken at the next yield point, after its
        step is recorded, which is where a replay delivers them."""
        self.cpu = cpu
        self.deliver_irq = deliver_irq
        self.gate = irq_gate
        if irq_gate is not None:
            irq_gate.hold = True
        if not self.serialised:
            self.ticket.acquire()
        if self.serialised:
            self._wait_for_token()
            self.strategy.on_token(self.view, cpu)

    def _wait_for_token(self):
        """Sleep until the token is ours.  With a core for every CPU process, poll the
        token word first: a hand-off then costs about a microsecond instead of a
        semaphore wake-up (tens of microseconds).  Posts left over from hand-offs
        taken while polling are harmless: the loop re-checks the token."""
        me, meta = self.cpu, self.meta
        if self.poll:
            for _ in range(POLL_ROUNDS):
                if meta[META_TOKEN] == me or meta[META_STOP]:
                    break
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

    def _free_point(self, me, kind, obj):
        """Free mode: this CPU holds the ticket between yield points; at each one it
        records the step, then lets go so the OS can run another CPU first."""
        self._record(me, kind)
        ticket = self.ticket
        if self._track(me, kind, obj):
            self._deadlock(ticket)
        ticket.release()
        if kind == _WAIT:
            time.sleep(0.0005)                  # a barrier: others have real work to do
        elif kind == _SPIN or kind == _RELAX:
            os.sched_yield()                    # let the lock holder (the flag's writer) go first
        ticket.acquire()
        if self.meta[META_STOP]:
            ticket.release()
            raise SchedStop()
        if self.gate is not None and self.gate.pending:
            self.gate.deliver_held()            # interrupts land at yield points only

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

    def yield_point(self, kind_name, obj=None):
        me = self.cpu
        if me is None:
            return
        kind = KIND_CODE.get(_AS.get(kind_name, kind_name), _OTHER)
        if not self.serialised:
            self._free_point(me, kind, obj)
            return
        if self.meta[META_STOP]:
            raise SchedStop()
        step = self._record(me, kind)
        if self.replay:
            self._check(step, me, kind)
        view = self.view
        if obj is not None or self.obj_set:           # only this CPU writes its slot
            key = obj_key(obj)
            view.obj[me] = key
            self.obj_set = key != 0
        if self._track(me, kind, obj):
            self._deadlock()
        nxt = self.strategy.next_cpu(view, me, kind)
        if nxt != me:
            self._handoff(nxt)
        if (self.deliver_irq is not None and kind != _IRQ and (self.replay or not _in_interrupt())
                and self.strategy.irq_due(view, me)):
            self.deliver_irq()

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
