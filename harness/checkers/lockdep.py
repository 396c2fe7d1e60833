"""Lock checking in the manner of the kernel's lockdep (kernel/locking/lockdep.c).

Shared state (arena sections, all CPUs see every dependency at once;
N = MAX_LOCKS + 1: the last class is the ``fs_reclaim`` pseudo-lock)::

    lockdep_order  u8[N * N]    order[a * N + b] = 1 once class b was taken
                                while holding class a in the same irq context
    lockdep_usage  u8[N]        per class: USED_IN_HARDIRQ 1, USED_IN_SOFTIRQ 2,
                                ENABLED_HARDIRQ 4, ENABLED_SOFTIRQ 8
    lockdep_edge   u32[N * N]   edge[a * N + b] = id of the site where the edge
                                was recorded (0: none): cpu * SITES + n + 1
    lockdep_site   u8[MAX_CPUS * SITES * SITE_LEN]  site texts, row cpu * SITES + n,
                                written only by that CPU (before it publishes the id)
    lockdep_nsite  u32[MAX_CPUS]  sites each CPU has written
    lockdep_usage_site  u32[N * 4]  per class and usage bit (bit_length - 1): the
                                site id where that usage was first seen ("{STATE}
                                state was registered at:")

Each edge keeps the workload line that made it, so a circular report lists
the existing dependency chain with the acquisition site of each edge, also
of edges another CPU recorded (the kernel keeps a stack trace per
dependency).  A held lock keeps the workload line that took it when the
caller is not the model itself (a lock the model takes internally keeps its
frame, resolved only if a report needs it: that is the hot path).

Per CPU (process-local): the stack of held locks, each tagged with the irq
context it was taken in (process, softirq, hardirq), as lockdep's
held_locks[] with hlock->irq_context.

Reports: recursive locking (AA), circular dependency (a cycle in the order
graph, found when a new edge closes it, across CPUs), inconsistent irq usage
({HARDIRQ-ON-W} -> {IN-HARDIRQ-W} and the softirq variant), safe -> unsafe
order (direct edges), bad unlock balance, unlock on the wrong CPU, locks still
held when a context returns, a held lock inside memory being freed
(debug_check_no_locks_freed; a workload's ``k.lock_at(addr)`` lock lives at
``addr``).  ``fs_reclaim`` (kernel_model/sched_mm.py) is acquired and released
by every allocation that may enter filesystem reclaim (might_alloc) and held
by reclaim itself; a cycle or recursion through it is reported as
``gfp-fs-recursion`` -- the lockdep splat the kernel prints for a __GFP_FS
allocation under a lock that reclaim takes.  Usage marking follows mark_usage(): USED_IN_*
by non-trylock acquisitions in interrupt context, ENABLED_* only when hard
interrupts were on at the acquisition.  Differences: classes are lock-name
prefixes (no nesting annotations); safe -> unsafe is checked on direct
edges, not transitively.
"""

import os
import re
import sys

from . import record
from .record import HARNESS_DIR, MODEL_DIR, RUNTIME_DIR, capture

import numpy as np

from kernel_model import context, debug, sched_mm, spinlock
from kernel_model.spinlock import MAX_LOCKS

from .base import Checker

USED_IN_HARDIRQ, USED_IN_SOFTIRQ, ENABLED_HARDIRQ, ENABLED_SOFTIRQ = 1, 2, 4, 8
_CTX_LEVEL = context.HARDIRQ_MASK | context.NMI_MASK | context.SOFTIRQ_OFFSET
_USAGE_BITS = context.HARDIRQ_MASK | context.NMI_MASK | context.SOFTIRQ_MASK
_HARD_NMI = context.HARDIRQ_MASK | context.NMI_MASK          # (_mark_usage runs at every lock)
_SOFTIRQ_OFFSET, _SOFTIRQ_MASK = context.SOFTIRQ_OFFSET, context.SOFTIRQ_MASK
_STATE_NAME = {USED_IN_HARDIRQ: "IN-HARDIRQ-W", USED_IN_SOFTIRQ: "IN-SOFTIRQ-W",
               ENABLED_HARDIRQ: "HARDIRQ-ON-W", ENABLED_SOFTIRQ: "SOFTIRQ-ON-W"}
_EMBEDDED = re.compile(r"\[(0x[0-9a-f]+)\]$")
MAX_CPUS = 64
SITES = 128              # edge sites per CPU (later edges keep no site)
SITE_LEN = 96
_MODEL_DIR = "/kernel_model/"
_API_FILE = RUNTIME_DIR + "workload_api.py"
_SPINLOCK_FILE = MODEL_DIR + "spinlock.py"
_INNER = (MODEL_DIR, HARNESS_DIR + "checkers" + os.sep, HARNESS_DIR + "scheduler" + os.sep)
_CONFLICT = {USED_IN_HARDIRQ: ENABLED_HARDIRQ, ENABLED_HARDIRQ: USED_IN_HARDIRQ,
             USED_IN_SOFTIRQ: ENABLED_SOFTIRQ, ENABLED_SOFTIRQ: USED_IN_SOFTIRQ}


_PASS, _MODEL_OWN, _API, _OUTSIDE = range(4)
_FILE_KIND = {}           # co_filename -> what a frame of that file says (a str's hash is cached)


def _file_kind(fname):
    kind = _FILE_KIND.get(fname)
    if kind is None:
        if fname == _API_FILE:
            kind = _API
        elif fname != _SPINLOCK_FILE and fname.startswith(MODEL_DIR):
            kind = _MODEL_OWN
        elif fname.startswith(_INNER):       # spinlock.py, hook fan-out, scheduler wrappers
            kind = _PASS
        else:
            kind = _OUTSIDE
        _FILE_KIND[fname] = kind
    return kind


def _workload_lock(frame):
    """Was this acquisition a workload's ``k.spin_lock*()``?  (Then its site is captured at
    once; a lock the model takes inside an allocation keeps only its frame.)  Looks a few
    frames out, past the model's spinlock functions, for the k API's lock calls.  Every k
    lock call goes straight into kernel_model/spinlock.py, so a model frame of any other
    file on the way out means the model took the lock itself: the walk ends there (most
    acquisitions are the model's own, the pcp and list locks of every allocation)."""
    f = frame
    get = _FILE_KIND.get
    for _ in range(6):
        if f is None:
            return False
        fname = f.f_code.co_filename
        kind = get(fname)
        if kind is None:
            kind = _file_kind(fname)
        if kind == _API:
            return "lock" in f.f_code.co_name
        if kind != _PASS:
            return False
        f = f.f_back
    return False


class LockdepChecker(Checker):
    name = "lockdep"

    @staticmethod
    def arena_sections(max_locks=MAX_LOCKS):
        n = max_locks + 1
        return [("lockdep_order", "B", n * n), ("lockdep_usage", "B", n),
                ("lockdep_edge", "I", n * n), ("lockdep_site", "B", MAX_CPUS * SITES * SITE_LEN),
                ("lockdep_nsite", "I", MAX_CPUS), ("lockdep_usage_site", "I", n * 4)]

    def __init__(self, sink=None, pgdat=None):
        super().__init__(sink, pgdat)
        self.fs_cls = pgdat.locks.max_locks          # the fs_reclaim pseudo-lock's class
        self.n = self.fs_cls + 1
        self.order = pgdat.arena.v["lockdep_order"]
        self.order_np = pgdat.arena.np("lockdep_order").reshape(self.n, self.n)
        self.usage = pgdat.arena.v["lockdep_usage"]
        self.names = pgdat.locks
        v = pgdat.arena.v
        self.edge_site = v.get("lockdep_edge")
        self.site_text, self.nsite = v.get("lockdep_site"), v.get("lockdep_nsite")
        self.usage_site = v.get("lockdep_usage_site")
        self._site_ids = {}            # site text -> id (this CPU's)
        self.held = []                 # [(lock, level, frame, site or None)]
        self._reported_aa = set()
        self._fs_seen = set()          # (context bits, irqs off) whose fs_reclaim usage is marked
        self._embedded = {}            # lock id -> address of the object holding it

    def _cls(self, lock):
        return self.fs_cls if lock.cls is None else lock.cls

    # -- helpers ------------------------------------------------------------------
    def _cname(self, cls):
        if cls == self.fs_cls:
            return "fs_reclaim"
        return self.names.name_of(cls).split("[", 1)[0]

    @staticmethod
    def _site_of(entry):
        """The acquisition site of a held-lock entry."""
        return entry[3] or capture(entry[2])[0]

    def held_locks(self):
        """[{name, site}] of the locks this CPU holds, outermost first (for every report)."""
        return [{"name": h[0].name, "site": self._site_of(h)} for h in self.held]

    def _intern(self, site):
        """The id of a site text in the shared table (0 if the table is full)."""
        sid = self._site_ids.get(site)
        if sid is not None or self.site_text is None:
            return sid or 0
        cpu = context.this_cpu.id
        if cpu >= MAX_CPUS or self.nsite[cpu] >= SITES:
            return 0
        n = self.nsite[cpu]
        raw = site.encode()[:SITE_LEN].ljust(SITE_LEN, b"\0")
        off = (cpu * SITES + n) * SITE_LEN
        self.site_text[off:off + SITE_LEN] = raw
        self.nsite[cpu] = n + 1
        sid = self._site_ids[site] = cpu * SITES + n + 1
        return sid

    def _site_text(self, sid):
        if not sid:
            return "?"
        off = (sid - 1) * SITE_LEN
        return bytes(self.site_text[off:off + SITE_LEN]).rstrip(b"\0").decode(errors="replace")

    def _edge(self, a, b):
        """{lock, after, site, cpu} of the recorded edge a -> b."""
        sid = self.edge_site[a * self.n + b] if self.edge_site is not None else 0
        site, cpu = self._site_text(sid), (sid - 1) // SITES if sid else None
        return {"lock": self._cname(b), "after": self._cname(a), "site": site, "cpu": cpu}

    # -- hooks ---------------------------------------------------------------------
    def lock_acquire(self, lock, trylock):
        cpu = context.this_cpu
        level = cpu.preempt_count & _CTX_LEVEL
        if not trylock:
            for h in self.held:
                if h[0].id == lock.id:
                    self._reported_aa.add(lock.id)
                    if lock.cls is not None and h[1] != level and level:
                        # An interrupt takes a lock the context it interrupted holds: the
                        # deadlock of an inconsistent lock state, one bug with the report
                        # the interrupt's usage gives on any CPU (mark_usage comes before
                        # check_deadlock in __lock_acquire, and lockdep stops at the first).
                        self._inconsistent_in_irq(lock, cpu)
                        break
                    self.violation("lock-recursive" if lock.cls is not None else "gfp-fs-recursion",
                                   function="spin_lock",
                                   details={"lock": lock.name, "held": h[0].name,
                                            "held_site": self._site_of(h),
                                            "class": self._cname(self._cls(lock))})
                    break
        if lock.cls is not None:
            self._mark_usage(lock, trylock, cpu)
            if "[0x" in lock.name and lock.id not in self._embedded:
                m = _EMBEDDED.search(lock.name)
                if m:
                    self._embedded[lock.id] = int(m.group(1), 16)
        for h in self.held:
            if h[1] == level and h[0].cls != lock.cls:
                self._add_edge(h[0], lock)
        frame = sys._getframe(1)
        self.held.append((lock, level, frame, capture(frame)[0] if _workload_lock(frame) else None))

    def might_sleep(self, where, gfp=None):
        """might_alloc(): the fs_reclaim annotation of an allocation that may reclaim.

        With no lock held the annotation can only add usage bits of fs_reclaim for
        this context and irq state (no edge, no recursion), and those only once:
        such a call is done once per (context, irq state), not at every allocation."""
        if gfp is None:
            return
        if not self.held:
            cpu = context.this_cpu
            key = (cpu.preempt_count & _USAGE_BITS, bool(cpu.irqs_off))
            if key in self._fs_seen:
                return
            sched_mm.might_alloc(gfp)
            if sched_mm.fs_reclaim_needed(gfp):
                self._fs_seen.add(key)
            return
        sched_mm.might_alloc(gfp)

    def spin_self_deadlock(self, lock, owner):
        # do_raw_spin_lock called lock_acquire just before: its entry is the last held.
        # The lock is never taken (this CPU would spin here for ever), so it goes, or the
        # context's exit would report it as held too: one bug, one report.
        if self.held and self.held[-1][0].id == lock.id:
            self.held.pop()
        if lock.id not in self._reported_aa:
            depth = len(self.held)
            self.lock_acquire(lock, False)
            del self.held[depth:]
        raise debug.SelfDeadlock("lock-recursive", f"spinlock recursion on {lock.name}")

    def lock_release(self, lock):
        held = self.held
        if held and held[-1][0].id == lock.id:     # the last taken, nearly always
            held.pop()
            return
        cpu = context.this_cpu
        owner = lock.owner_word()
        for i in range(len(held) - 2, -1, -1):
            if held[i][0].id == lock.id:
                del held[i]
                break
        else:
            if lock.cls is None:
                return
            if owner and spinlock.owner_cpu(owner) != cpu.id:
                self.violation("lock-wrong-cpu", function="spin_unlock",
                               details={"lock": lock.name, "owner_cpu": spinlock.owner_cpu(owner)})
            else:
                self.violation("lock-bad-unlock", function="spin_unlock",
                               details={"lock": lock.name})

    def context_exit(self):
        if not self.held:                          # every lock was released: the usual case
            return
        level = context.this_cpu.preempt_count & _CTX_LEVEL
        left = [h for h in self.held if h[1] == level]
        if left:
            site = self._site_of(left[0])
            self.violation("lock-held-at-exit", site=site, frames=[site],
                           details={"locks": [h[0].name for h in left]})
            self.held = [h for h in self.held if h[1] != level]

    def finish(self):
        if self.held:
            self.context_exit()

    # -- debug_check_no_locks_freed -------------------------------------------------------
    def slab_free(self, cache_name, addr):
        if self._embedded:
            self._check_freed(addr, addr + 1)

    def page_free(self, pfn, order):
        if self._embedded and self.pgdat is not None:
            start = self.pgdat.pfn_to_virt(pfn)
            if start is not None:
                self._check_freed(start, start + (self.pgdat.page_size << order))

    def _check_freed(self, lo, hi):
        for h in self.held:
            a = self._embedded.get(h[0].id)
            if a is not None and lo <= a < hi:
                self.violation("lock-held-freed", function="kfree",
                               objects=[{"address": lo, "size": hi - lo}],
                               details={"lock": h[0].name, "lo": lo, "hi": hi - 1,
                                        "held_site": self._site_of(h)})
                return

    # -- usage states -----------------------------------------------------------------
    def _report_inconsistent(self, lock, bit, cpu):
        """``inconsistent {OTHER} -> {bit} usage`` of ``lock``'s class, keyed by the class
        (one bug however many CPUs and contexts show it)."""
        cls, pc, other = lock.cls, cpu.preempt_count, _CONFLICT[bit]
        self.violation("lock-inconsistent", function="spin_lock",
                       key_site=f"inconsistent usage of ({self._cname(cls)})",
                       details={"from_state": _STATE_NAME[other],
                                "to_state": _STATE_NAME[bit], "lock": lock.name,
                                "class": self._cname(cls),
                                "hc": int(bool(pc & context.HARDIRQ_MASK)),
                                "sc": int(bool(pc & context.SOFTIRQ_OFFSET)),
                                "he": int(not cpu.irqs_off),
                                "se": int(not pc & context.SOFTIRQ_MASK),
                                "first_site": self._site_text(
                                    self.usage_site[cls * 4 + other.bit_length() - 1]
                                    if self.usage_site is not None else 0)})

    def _inconsistent_in_irq(self, lock, cpu):
        """An interrupt re-takes a lock its interrupted context holds."""
        hard = cpu.preempt_count & (context.HARDIRQ_MASK | context.NMI_MASK)
        self._report_inconsistent(lock, USED_IN_HARDIRQ if hard else USED_IN_SOFTIRQ, cpu)

    def _mark_usage(self, lock, trylock, cpu):
        pc = cpu.preempt_count
        new = 0
        if not trylock:
            if pc & _HARD_NMI:
                new |= USED_IN_HARDIRQ
            elif pc & _SOFTIRQ_OFFSET:
                new |= USED_IN_SOFTIRQ
        if not cpu.irqs_off and not pc & _HARD_NMI:
            new |= ENABLED_HARDIRQ
            if not pc & _SOFTIRQ_MASK:
                new |= ENABLED_SOFTIRQ
        cls = lock.cls
        old = self.usage[cls]
        added = new & ~old
        if not added:
            return
        self.usage[cls] = old | added
        if self.usage_site is not None:
            sid = self._intern(capture()[0])
            for bit in (USED_IN_HARDIRQ, ENABLED_HARDIRQ, USED_IN_SOFTIRQ, ENABLED_SOFTIRQ):
                if added & bit:
                    self.usage_site[cls * 4 + bit.bit_length() - 1] = sid
        for bit in (USED_IN_HARDIRQ, ENABLED_HARDIRQ, USED_IN_SOFTIRQ, ENABLED_SOFTIRQ):
            if added & bit and old & _CONFLICT[bit]:
                self._report_inconsistent(lock, bit, cpu)
                break
        if added & ENABLED_HARDIRQ:
            for h in np.nonzero(self.order_np[:, cls])[0]:
                if self.usage[int(h)] & USED_IN_HARDIRQ:
                    self._safe_unsafe(int(h), cls)
        if added & USED_IN_HARDIRQ:
            for u in np.nonzero(self.order_np[cls, :])[0]:
                if self.usage[int(u)] & ENABLED_HARDIRQ:
                    self._safe_unsafe(cls, int(u))

    def _safe_unsafe(self, safe, unsafe):
        self.violation("lock-safe-unsafe", function="spin_lock",
                       key_site=f"({self._cname(safe)}) -> ({self._cname(unsafe)})",
                       lock_chain=[self._edge(safe, unsafe)],
                       details={"safe": self._cname(safe), "unsafe": self._cname(unsafe)})

    # -- the dependency graph ------------------------------------------------------------
    def _add_edge(self, held, lock):
        a, b = self._cls(held), self._cls(lock)
        idx = a * self.n + b
        if self.order[idx]:
            return
        # Publish the edge before looking for the reverse path: two CPUs adding a->b
        # and b->a at once then each see the other's edge (at least one of them
        # does), where check-then-add would let both miss it -- the kernel's
        # lockdep holds graph_lock across both for the same reason.
        self.order[idx] = 1
        if self.edge_site is not None:
            self.edge_site[idx] = self._intern(capture()[0])
        path = self._path(b, a)
        if (self.usage[a] & USED_IN_HARDIRQ) and (self.usage[b] & ENABLED_HARDIRQ):
            self._safe_unsafe(a, b)
        if path is not None:
            kind = "gfp-fs-recursion" if self.fs_cls in path else "lock-circular"
            cycle = sorted({self._cname(c) for c in path})
            self.violation(kind, function="spin_lock",
                           key_site="cycle " + " ".join(f"({c})" for c in cycle),
                           lock_chain=[self._edge(path[i], path[i + 1])
                                       for i in range(len(path) - 1)],
                           details={"lock": lock.name, "held": held.name,
                                    "held_site": self._site_of(next(
                                        h for h in self.held if h[0].id == held.id)),
                                    "lock_class": self._cname(b), "held_class": self._cname(a)})

    def _path(self, src, dst):
        """A path src ->* dst in the order graph, or None (breadth first)."""
        if src == dst:
            return [src]
        prev = {src: None}
        frontier = [src]
        while frontier:
            nxt = []
            for node in frontier:
                for m in np.nonzero(self.order_np[node])[0]:
                    m = int(m)
                    if m in prev:
                        continue
                    prev[m] = node
                    if m == dst:
                        out = [m]
                        while prev[out[-1]] is not None:
                            out.append(prev[out[-1]])
                        return out[::-1]
                    nxt.append(m)
            frontier = nxt
        return None



def report_deadlock(sink, node, exc):
    """A deadlock the scheduler engine found (``SchedDeadlock``), as a record lockdep owns.

    The site is the workload line this CPU was spinning at (from the exception's
    traceback: the spin is inside its ``k.spin_lock``); the key is the set of locks
    in the cycle, whichever CPU noticed it."""
    names = getattr(node, "locks", None)
    cycle = []
    for cpu, lid, owner in getattr(exc, "cycle", []):
        name = names.name_of(lid) if names is not None and lid is not None and lid >= 0 else None
        cycle.append({"cpu": cpu, "lock": name, "owner": owner})
    site = record.tb_site(exc.__traceback__) or "?"
    locks = sorted({c["lock"] for c in cycle if c["lock"]})
    return Checker(sink, node).violation(
        "deadlock", site=site, frames=[site] if site != "?" else [], function="spin_lock",
        key_site="deadlock on " + " ".join(f"({n})" for n in locks), details={"cycle": cycle})
