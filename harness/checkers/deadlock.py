"""Real deadlocks of the workload: a wait-for cycle among CPUs spinning on model spinlocks.

Lockdep (lockdep.py) *predicts* deadlocks from the order locks are taken in;
this checker *finds* one that happened: CPU a spins on lock L owned by CPU b,
which spins on lock M owned by a.  Spinlocks never time out, so without it
such a run only ends when the soft-lockup watchdog kills it.  The report is
the shape of lockdep's scenario table, ending in ``*** DEADLOCK ***``, with
each CPU's held lock and the sites where it took it and where it waits.

How it is found, in every mode.  The model's spin loop calls
``debug.hooks.yield_point("spin", lock)`` at every failed try and
``yield_point("locked", lock)`` once the lock is taken.  The innermost
spinning context of a CPU is the one that blocks it, so each CPU keeps, in
the arena, the lock it spins on now (a stack in the process for nested
contexts: a hardirq spinning inside a spinning process context).  The owner
word of every lock is already in the arena (``(cpu + 1) << 8 | context``).
A CPU that has spun ``CHECK_AT`` times follows the edges from itself -- the
lock it waits for, that lock's owner CPU, the lock that CPU waits for ... --
and when it comes back to itself that is a cycle.  Owner and wait words are
read without a lock, so one reading may mix two moments; a cycle is
reported only when the same cycle is read ``CONFIRM`` times in a row,
``CHECK_EVERY`` spins apart (past ``CHECK_AT`` tries the model's spin loop
waits a millisecond per try, so that is tens of milliseconds of a cycle that
did not move; a real deadlock never moves).

One CPU alone can deadlock too: an interrupt that spins on a lock the
context it interrupted holds.  The model reports that before spinning when
the owner word already names this CPU (``spin_self_deadlock``); when the
interrupt arrived between the acquire and the owner word's write, the word
still reads 0, and this checker finds it from its own record of the locks
being taken (``lock_acquire`` before, ``lock_acquired`` after).

Who reports.  The lowest-numbered CPU of the cycle, so one deadlock gives
one record.  Each spinning CPU of the cycle first writes its own part (its
held locks with their sites, the site where it waits) into its arena slot
once it has spun ``DESCRIBE_AT`` times, so the reporter can print every
CPU's sites, not only its own.  After the report the reporter sets
``deadlock_found`` and raises ``DeadlockStop``; every CPU spinning anywhere
sees the word at its next try and raises it too; the CPU runtime catches it
(a harness unwind, not a workload failure), aborts the run and leaves
without teardown, as under a scheduler's deadlock.

The serialising schedulers find the same deadlocks their own way (every CPU
left is spinning: harness/scheduler/engine.py ``_deadlock``); the CPU that
raised ``SchedDeadlock`` turns it into the same record with ``report_cycle``.

Arena sections (c = CPU < MAX_CPUS)::

    deadlock_wait   u32[MAX_CPUS]           lock id + 1 CPU c's innermost context spins on, 0 none
    deadlock_info   u8 [MAX_CPUS * INFO]    CPU c's own part of a report (UTF-8, NUL padded)
    deadlock_found  u32[1]                  1 once a deadlock is reported: everyone unwinds

Each CPU writes only its own slots; ``deadlock_found`` only goes 0 -> 1.
"""

import os
import sys

from kernel_model import context

from .base import Checker, workload_site
from .record import HARNESS_DIR, MODEL_DIR

MAX_CPUS = 64
INFO = 1024
DESCRIBE_AT = 16          # spins before a CPU writes its part of a possible report
DESCRIBE_RELAX_EVERY = 16  # a busy-waiting CPU rewrites its part every this many cpu_relax()
RELAXING = -2             # the "lock id" of a CPU in a cycle that busy-waits in cpu_relax()
CHECK_AT = 220            # spins before a CPU looks for a cycle (past the busy-wait tries)
CHECK_EVERY = 16
CONFIRM = 3


_IN_HARNESS = {}


def _workload_frame(frame):
    """(frame, its line now) of the innermost frame outside the model and the harness: the
    line is kept because the frame goes on running after the lock is taken."""
    f = frame
    inside = _IN_HARNESS
    while f is not None:
        fname = f.f_code.co_filename           # a str: its hash is cached (a code object's is not)
        known = inside.get(fname)
        if known is None:
            known = inside[fname] = fname.startswith((MODEL_DIR, HARNESS_DIR))
        if not known:
            return f, f.f_lineno
        f = f.f_back
    return frame, frame.f_lineno


_MODEL_OWN = {}
_SPINLOCK_FILE = MODEL_DIR + "spinlock.py"
_PASS_DIRS = (HARNESS_DIR + "checkers" + os.sep, HARNESS_DIR + "scheduler" + os.sep)


def _taken_at(frame):
    """(frame, line) for where a lock was taken.  A lock the model takes for itself inside a
    k call (a pcp or list lock: most locks) is released before that call returns, so while
    it is held its workload frame still stands at the line of the call: it keeps the
    model's frame and no line, and ``_where`` finds the workload frame when a report asks
    (the walk out to it is most of this checker's cost).  A workload's own k lock call
    (spinlock.py, then the k API) is walked at once: that frame runs on holding it."""
    f = frame
    own = _MODEL_OWN
    while f is not None:
        fname = f.f_code.co_filename
        kind = own.get(fname)
        if kind is None:
            kind = own[fname] = (0 if fname == _SPINLOCK_FILE or fname.startswith(_PASS_DIRS)
                                 else 1 if fname.startswith(MODEL_DIR) else 2)
        if kind == 1:
            return f, None
        if kind == 2:
            break
        f = f.f_back
    return _workload_frame(frame)


def _where(f, line):
    if line is None and f is not None:            # _taken_at's model frame: the workload's now
        f, line = _workload_frame(f)
    return f"{f.f_code.co_filename}:{line} ({f.f_code.co_name})" if f is not None else "?"


class DeadlockStop(BaseException):
    """This CPU is part of (or waits behind) a reported deadlock: unwind and leave.

    A BaseException: it must unwind through workload code and the guarded
    calls, as a kill would; the CPU runtime treats it as the harness's own."""


class DeadlockChecker(Checker):
    name = "deadlock"

    @staticmethod
    def arena_sections(max_locks=None):
        return [("deadlock_wait", "I", MAX_CPUS), ("deadlock_info", "B", MAX_CPUS * INFO),
                ("deadlock_found", "I", 1)]

    def __init__(self, sink=None, pgdat=None):
        super().__init__(sink, pgdat)
        v = pgdat.arena.v if pgdat is not None else {}
        self.wait = v.get("deadlock_wait")
        self.info = v.get("deadlock_info")
        self.found = v.get("deadlock_found")
        self.locks = pgdat.locks if pgdat is not None else None
        self.nr_cpus = pgdat.nr_cpus if pgdat is not None else 1
        self.held = []            # [(lock, (frame, line) where it was taken, context)] in this CPU
        self.spinning = []        # [[preempt level, lock, spins, last cycle, times seen]]
        self.relaxes = 0          # cpu_relax() calls (a busy-wait's part is rewritten every 16)
        self.acquiring = []       # [(context, lock, (frame, line))]: lock_acquire seen, not yet taken
        self.releasing = None     # the last held entry lock_release removed

    # -- held locks (for the sites) ---------------------------------------------------------
    def lock_acquire(self, lock, trylock):
        if trylock:
            return
        acq = self.acquiring
        level = context.this_cpu.context()
        while acq and acq[-1][0] >= level:      # left over from an acquire an exception unwound
            acq.pop()
        acq.append((level, lock, _workload_frame(sys._getframe(1))))

    def lock_acquired(self, lock, contended):
        acq = self.acquiring
        if acq and acq[-1][1] is lock:
            level, _lock, where = acq.pop()
            self.held.append((lock, where, level))
        else:                                    # a trylock: no lock_acquire before it
            self.held.append((lock, _taken_at(sys._getframe(1)), context.this_cpu.context()))

    def lock_release(self, lock):
        held = self.held
        if held and held[-1][0].id == lock.id:     # the last taken, nearly always
            self.releasing = held.pop()
            return
        for i in range(len(held) - 2, -1, -1):
            if held[i][0].id == lock.id:
                self.releasing = held.pop(i)     # until its owner word is cleared
                return

    # -- the spin loop --------------------------------------------------------------------------
    def yield_point(self, kind, obj=None):
        if kind == "spin":
            self._spin(obj)
        elif kind == "locked" and self.spinning:
            self._done_spinning()
        elif kind == "relax":
            self._relax()

    def _relax(self):
        """A busy-wait: every DESCRIBE_RELAX_EVERY-th cpu_relax() (the first included)
        writes where this CPU waits, for a report of CPUs that wait for each other."""
        if self.info is None or self.spinning:
            return
        self.relaxes += 1
        if self.relaxes % DESCRIBE_RELAX_EVERY != 1:
            return
        cpu = context.this_cpu
        text = (f"CPU{cpu.id} ({cpu.comm}) in {context.CTX_NAMES[cpu.context()]} context\n"
                f"  busy-waits in cpu_relax() at {workload_site()}")
        raw = text.encode()[:INFO - 1]
        self.info[cpu.id * INFO:(cpu.id + 1) * INFO] = raw.ljust(INFO, b"\0")

    def _spin(self, lock):
        if self.wait is None or lock is None:
            return
        if self.found[0]:
            raise DeadlockStop()
        level = context.this_cpu.context()
        spinning = self.spinning
        while spinning and (spinning[-1][0] > level
                            or (spinning[-1][0] == level and spinning[-1][1] is not lock)):
            spinning.pop()                     # left over from a spin an exception unwound
        top = spinning[-1] if spinning else None
        if top is None or top[0] != level:
            top = [level, lock, 0, None, 0]
            self.spinning.append(top)
            self.wait[context.this_cpu.id] = lock.id + 1
        top[2] += 1
        spins = top[2]
        if spins == DESCRIBE_AT:
            self._describe(lock, sys._getframe(2))
        if spins >= CHECK_AT and (spins - CHECK_AT) % CHECK_EVERY == 0:
            cycle = self.cycle(context.this_cpu.id) or self._self_cycle(lock, level)
            if cycle is None or cycle != top[3]:
                top[3], top[4] = cycle, 1 if cycle else 0
            else:
                top[4] += 1
                if top[4] >= CONFIRM and min(c for c, _l, _o in cycle) == context.this_cpu.id:
                    if not self._lockdep_reported(cycle, lock):
                        self.report_cycle(cycle)
                    self.found[0] = 1
                    raise DeadlockStop()

    def _done_spinning(self):
        if self.spinning[-1][0] != context.this_cpu.context():
            return                             # this context took its lock without spinning
        done = self.spinning.pop()
        me = context.this_cpu.id
        if done[2] >= DESCRIBE_AT and self.info is not None:
            self.info[me * INFO] = 0               # that part is stale now: no report shows it
        self.wait[me] = self.spinning[-1][1].id + 1 if self.spinning else 0

    # -- the graph --------------------------------------------------------------------------------
    def cycle(self, start):
        """[(cpu, lock id it waits for, owner cpu)] around a wait-for cycle through
        ``start``, or None."""
        wait, owner = self.wait, self.locks.owner
        out, seen, cpu = [], set(), start
        while True:
            lid = wait[cpu] - 1
            if lid < 0:
                return None
            word = owner[lid]
            holder = (word >> 8) - 1
            if holder < 0 or holder == cpu:     # free, or a moment between take and "locked"
                return None
            out.append((cpu, lid, holder))
            if holder == start:
                return out
            if holder in seen or holder >= self.nr_cpus:
                return None
            seen.add(cpu)
            cpu = holder

    def _lockdep_reported(self, cycle, lock):
        """An interrupt spinning on a lock its own interrupted context holds is the
        deadlock lockdep has already reported on this CPU as the lock's inconsistent
        irq state (or recursion): that record is the bug's one report, this is its
        consequence, so the run stops without a second one."""
        if len(cycle) != 1 or cycle[0][2] != cycle[0][0] or self.sink is None:
            return False
        return any(v.kind in ("lock-inconsistent", "lock-recursive")
                   and v.details.get("lock") == lock.name for v in self.sink.violations)

    def _self_cycle(self, lock, level):
        """AA through an interrupt: an outer context of this CPU took ``lock`` and was
        interrupted before it wrote the owner word (the model writes it after the
        acquire), and this inner context now spins on it.  The owner word stays 0
        while nobody can take the lock: no other holder is ever in that state for
        long, so a confirmed reading is this CPU's own AA deadlock."""
        if self.locks.owner[lock.id] != 0:
            return None
        if any(lvl < level and held is lock for lvl, held, _w in self.acquiring):
            me = context.this_cpu.id
            return [(me, lock.id, me)]
        return None

    def _describe(self, lock, frame):
        """Write this CPU's part of a report: what it holds (and where it took it), where it waits."""
        cpu = context.this_cpu
        lines = [f"CPU{cpu.id} ({cpu.comm}) in {context.CTX_NAMES[cpu.context()]} context",
                 f"  spins on ({lock.name}) at {workload_site(frame=frame)}"]
        level = cpu.context()
        for held, (f, line), lvl in self.held:
            ctx = (f" in the interrupted {context.CTX_NAMES[lvl]} context" if lvl < level
                   else "")
            lines.append(f"  holds ({held.name}){ctx}, taken at {_where(f, line)}")
        owner = self.locks.owner
        for lvl, held, (f, line) in self.acquiring:      # interrupted right after taking it
            if lvl < level and (held is lock or owner[held.id] >> 8 == cpu.id + 1):
                lines.append(f"  holds ({held.name}) in the interrupted {context.CTX_NAMES[lvl]} "
                             f"context, taken at {_where(f, line)}")
        rel = self.releasing                             # interrupted while releasing it
        if rel is not None and owner[rel[0].id] >> 8 == cpu.id + 1 and rel[2] < level:
            held, (f, line), lvl = rel
            lines.append(f"  holds ({held.name}) in the interrupted {context.CTX_NAMES[lvl]} "
                         f"context, which was releasing it; taken at {_where(f, line)}")
        raw = "\n".join(lines).encode()[:INFO - 1]
        base = cpu.id * INFO
        self.info[base:base + INFO] = raw.ljust(INFO, b"\0")

    def _part(self, cpu):
        if self.info is None:
            return ""
        raw = bytes(self.info[cpu * INFO:(cpu + 1) * INFO]).split(b"\0", 1)[0]
        return raw.decode(errors="replace")

    # -- the record ------------------------------------------------------------------------------
    def report_cycle(self, cycle, note=None):
        """Emit the ``deadlock`` record of ``cycle`` = [(cpu, lock id waited for, owner cpu)]
        (owner None: not known; lock id RELAXING: busy-waiting in cpu_relax(); another lock
        id < 0: waiting at a barrier, not on a lock)."""
        names = self.locks.name_of if self.locks is not None else (lambda i: f"lock {i}")
        cpus = [c for c, _l, _o in cycle]
        waits = {c: lid for c, lid, _o in cycle}
        holds = {}
        for c, lid, owner in cycle:
            if lid >= 0 and owner is not None and owner >= 0:
                holds.setdefault(owner, lid)
        relaxing = [c for c, lid, _o in cycle if lid == RELAXING]
        if len(cycle) == 1 and cycle[0][2] == cycle[0][0]:
            title = (f"BUG: deadlock: CPU{cpus[0]} spins on {names(cycle[0][1])}, which an "
                     "interrupted context of the same CPU holds")
        elif relaxing and len(relaxing) < len(cycle) and all(lid < 0 for _c, lid, _o in cycle):
            title = ("BUG: deadlock: " + " and ".join(f"CPU{c}" for c in relaxing)
                     + (" busy-waits" if len(relaxing) == 1 else " busy-wait")
                     + " in cpu_relax() while every other CPU has finished")
        elif relaxing:
            title = ("BUG: deadlock: " + " and ".join(f"CPU{c}" for c in cpus)
                     + (" busy-wait for each other" if all(lid == RELAXING for _c, lid, _o in cycle)
                        else " spin or busy-wait on each other"))
        else:
            title = ("BUG: deadlock: " + " and ".join(f"CPU{c}" for c in cpus)
                     + " spin on each other's locks")
        what_each = ("spins on a lock another one holds"
                     if all(lid != RELAXING for _c, lid, _o in cycle) else
                     "spins on a lock another one holds or busy-waits in cpu_relax() for a "
                     "condition no other CPU can make true")
        lines = [title, "", f" Deadlock found (not predicted): every CPU below {what_each}.", ""]
        if note:
            lines += [note, ""]
        width = 24
        lines.append("      " + "".join(f"CPU{c}".ljust(width) for c in cpus))
        lines.append("      " + "".join("----".ljust(width) for _ in cpus))
        for col, c in enumerate(cpus):                       # first each takes what it holds
            if c in holds:
                lines.append("      " + " " * (width * col) + f"lock({names(holds[c])});")
        if len(cycle) == 1 and cycle[0][2] == cycle[0][0]:
            lines.append("      <Interrupt>")
        for col, c in enumerate(cpus):                       # then each spins on the next
            lid = waits[c]
            what = (f"lock({names(lid)});" if lid >= 0 else "cpu_relax();" if lid == RELAXING
                    else "(end-of-run barrier)")
            lines.append("      " + " " * (width * col) + what)
        lines += ["", " *** DEADLOCK ***", ""]
        for c, lid, owner in cycle:
            part = self._part(c)
            if part:
                lines.append(part)
            elif lid >= 0:
                lines.append(f"CPU{c}\n  spins on ({names(lid)}), held by CPU{owner}"
                             + (f"\n  holds ({names(holds[c])})" if c in holds else ""))
            elif lid == RELAXING:
                lines.append(f"CPU{c}\n  busy-waits in cpu_relax()")
            else:
                lines.append(f"CPU{c}\n  waits at the end-of-run barrier for the other CPUs")
        me = context.this_cpu.id
        parts = [self._part(me)] + [self._part(c) for c in cpus if c != me]
        site = next((ln.split(" at ", 1)[1] for part in parts for ln in part.splitlines()
                     if ln.startswith(("  spins on", "  busy-waits")) and " at " in ln), None)
        lock_names = sorted({names(lid) for _c, lid, _o in cycle if lid >= 0})
        return self.emit("deadlock", "\n".join(lines),
                         site=site or "(deadlock) " + " ".join(lock_names),
                         sites={f"CPU{c}": self._part(c) for c in cpus if self._part(c)})
