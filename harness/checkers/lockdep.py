"""Lock checking in the manner of the kernel's lockdep (kernel/locking/lockdep.c).

Shared state (arena sections, all CPUs see every dependency at once;
N = MAX_LOCKS + 1: the last class is the ``fs_reclaim`` pseudo-lock)::

    lockdep_order  u8[N * N]    order[a * N + b] = 1 once class b was taken
                                while holding class a in the same irq context
    lockdep_usage  u8[N]        per class: USED_IN_HARDIRQ 1, USED_IN_SOFTIRQ 2,
                                ENABLED_HARDIRQ 4, ENABLED_SOFTIRQ 8

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

import re
import sys

import numpy as np

from kernel_model import context, debug, sched_mm, spinlock
from kernel_model.spinlock import MAX_LOCKS

from .base import Checker, workload_site

USED_IN_HARDIRQ, USED_IN_SOFTIRQ, ENABLED_HARDIRQ, ENABLED_SOFTIRQ = 1, 2, 4, 8
_CTX_LEVEL = context.HARDIRQ_MASK | context.NMI_MASK | context.SOFTIRQ_OFFSET
_USAGE_BITS = context.HARDIRQ_MASK | context.NMI_MASK | context.SOFTIRQ_MASK
_STATE_NAME = {USED_IN_HARDIRQ: "IN-HARDIRQ-W", USED_IN_SOFTIRQ: "IN-SOFTIRQ-W",
               ENABLED_HARDIRQ: "HARDIRQ-ON-W", ENABLED_SOFTIRQ: "SOFTIRQ-ON-W"}
_EMBEDDED = re.compile(r"\[(0x[0-9a-f]+)\]$")
_CONFLICT = {USED_IN_HARDIRQ: ENABLED_HARDIRQ, ENABLED_HARDIRQ: USED_IN_HARDIRQ,
             USED_IN_SOFTIRQ: ENABLED_SOFTIRQ, ENABLED_SOFTIRQ: USED_IN_SOFTIRQ}


class LockdepChecker(Checker):
    name = "lockdep"

    @staticmethod
    def arena_sections(max_locks=MAX_LOCKS):
        n = max_locks + 1
        return [("lockdep_order", "B", n * n), ("lockdep_usage", "B", n)]

    def __init__(self, sink=None, pgdat=None):
        super().__init__(sink, pgdat)
        self.fs_cls = pgdat.locks.max_locks          # the fs_reclaim pseudo-lock's class
        self.n = self.fs_cls + 1
        self.order = pgdat.arena.v["lockdep_order"]
        self.order_np = pgdat.arena.np("lockdep_order").reshape(self.n, self.n)
        self.usage = pgdat.arena.v["lockdep_usage"]
        self.names = pgdat.locks
        self.held = []                 # [(lock, level, site)]
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

    def _held_text(self):
        if not self.held:
            return "no locks held"
        lines = [f"{len(self.held)} lock(s) held by {context.this_cpu.comm}/CPU {context.this_cpu.id}:"]
        for i, (lock, level, site) in enumerate(self.held):
            lines.append(f" #{i}: ({lock.name}), taken at {workload_site(frame=site)}")
        return "\n".join(lines)

    # -- hooks ---------------------------------------------------------------------
    def lock_acquire(self, lock, trylock):
        cpu = context.this_cpu
        level = cpu.preempt_count & _CTX_LEVEL
        if not trylock:
            for held, _lvl, site in self.held:
                if held.id == lock.id:
                    self._reported_aa.add(lock.id)
                    self.emit("lock-recursive" if lock.cls is not None else "gfp-fs-recursion",
                              "WARNING: possible recursive locking detected\n"
                              f"{cpu.comm}/CPU {cpu.id} is trying to acquire lock:\n"
                              f" ({lock.name}) in {context.CTX_NAMES[cpu.context()]} context\n"
                              f"but task is already holding lock:\n ({held.name}), "
                              f"taken at {workload_site(frame=site)}\n"
                              f"{self._held_text()}")
                    break
        if lock.cls is not None:
            self._mark_usage(lock, trylock, cpu)
            if "[0x" in lock.name and lock.id not in self._embedded:
                m = _EMBEDDED.search(lock.name)
                if m:
                    self._embedded[lock.id] = int(m.group(1), 16)
        for held, lvl, _site in self.held:
            if lvl == level and held.cls != lock.cls:
                self._add_edge(held, lock)
        self.held.append((lock, level, sys._getframe(1)))

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
        if lock.id not in self._reported_aa:
            self.lock_acquire(lock, False)
        raise debug.SelfDeadlock("lock-recursive", f"spinlock recursion on {lock.name}")

    def lock_release(self, lock):
        cpu = context.this_cpu
        owner = lock.owner_word()
        for i in range(len(self.held) - 1, -1, -1):
            if self.held[i][0].id == lock.id:
                del self.held[i]
                break
        else:
            if lock.cls is None:
                return
            if owner and spinlock.owner_cpu(owner) != cpu.id:
                self.emit("lock-wrong-cpu",
                          f"BUG: spinlock wrong CPU on CPU#{cpu.id}, {cpu.comm}\n"
                          f" lock: {lock.name}, .owner_cpu: {spinlock.owner_cpu(owner)}")
            else:
                self.emit("lock-bad-unlock",
                          "WARNING: bad unlock balance detected!\n"
                          f"{cpu.comm}/CPU {cpu.id} is trying to release lock ({lock.name}) at:\n"
                          f"{workload_site()}\nbut there are no more locks to release!\n"
                          f"{self._held_text()}")

    def context_exit(self):
        level = context.this_cpu.preempt_count & _CTX_LEVEL
        left = [h for h in self.held if h[1] == level]
        if left:
            cpu = context.this_cpu
            names = ", ".join(h[0].name for h in left)
            self.emit("lock-held-at-exit",
                      f"WARNING: lock held when returning from {context.CTX_NAMES[cpu.context()]} "
                      f"context: {names}\n{self._held_text()}", site=workload_site(frame=left[0][2]))
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
        for lock, _lvl, site in self.held:
            a = self._embedded.get(lock.id)
            if a is not None and lo <= a < hi:
                cpu = context.this_cpu
                self.emit("lock-held-freed",
                          "WARNING: held lock freed!\n"
                          f"{cpu.comm}/{cpu.pid} is freeing memory {lo:#x}-{hi - 1:#x}, with a "
                          "lock still held there!\n"
                          f" ({lock.name}), taken at {workload_site(frame=site)}\n"
                          f"{self._held_text()}")
                return

    # -- usage states -----------------------------------------------------------------
    def _mark_usage(self, lock, trylock, cpu):
        pc = cpu.preempt_count
        new = 0
        if not trylock:
            if pc & (context.HARDIRQ_MASK | context.NMI_MASK):
                new |= USED_IN_HARDIRQ
            elif pc & context.SOFTIRQ_OFFSET:
                new |= USED_IN_SOFTIRQ
        if not cpu.irqs_off and not pc & (context.HARDIRQ_MASK | context.NMI_MASK):
            new |= ENABLED_HARDIRQ
            if not pc & context.SOFTIRQ_MASK:
                new |= ENABLED_SOFTIRQ
        cls = lock.cls
        old = self.usage[cls]
        added = new & ~old
        if not added:
            return
        self.usage[cls] = old | added
        for bit in (USED_IN_HARDIRQ, ENABLED_HARDIRQ, USED_IN_SOFTIRQ, ENABLED_SOFTIRQ):
            if added & bit and old & _CONFLICT[bit]:
                self.emit("lock-inconsistent",
                          "WARNING: inconsistent lock state\n"
                          f"inconsistent {{{_STATE_NAME[_CONFLICT[bit]]}}} -> {{{_STATE_NAME[bit]}}} usage.\n"
                          f"{cpu.comm}/CPU {cpu.id} [HC{int(bool(pc & context.HARDIRQ_MASK))}"
                          f"[{(pc & context.HARDIRQ_MASK) >> 16}]:SC{int(bool(pc & context.SOFTIRQ_OFFSET))}"
                          f"[{int(bool(pc & context.SOFTIRQ_OFFSET))}]:HE{int(not cpu.irqs_off)}"
                          f":SE{int(not pc & context.SOFTIRQ_MASK)}] takes:\n ({lock.name})\n"
                          "Possible unsafe locking scenario:\n"
                          "       CPU0\n       ----\n"
                          f"  lock({self._cname(cls)});\n  <Interrupt>\n    lock({self._cname(cls)});\n"
                          " *** DEADLOCK ***")
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
        self.emit("lock-safe-unsafe",
                  "WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected\n"
                  f"the HARDIRQ-safe lock ({self._cname(safe)}) is held while taking "
                  f"the HARDIRQ-unsafe lock ({self._cname(unsafe)})\n{self._held_text()}")

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
        path = self._path(b, a)
        if (self.usage[a] & USED_IN_HARDIRQ) and (self.usage[b] & ENABLED_HARDIRQ):
            self._safe_unsafe(a, b)
        if path is not None:
            cpu = context.this_cpu
            chain = " -> ".join(f"({self._cname(c)})" for c in path)
            kind = "gfp-fs-recursion" if self.fs_cls in path else "lock-circular"
            self.emit(kind,
                      "WARNING: possible circular locking dependency detected\n"
                      f"{cpu.comm}/CPU {cpu.id} is trying to acquire lock:\n ({lock.name})\n"
                      f"but task is already holding lock:\n ({held.name})\n"
                      f"which lock already depends on the new lock.\n"
                      f"the existing dependency chain is: {chain}\n"
                      "Possible unsafe locking scenario:\n"
                      "       CPU0                    CPU1\n"
                      "       ----                    ----\n"
                      f"  lock({self._cname(a)});\n"
                      f"                               lock({self._cname(b)});\n"
                      f"                               lock({self._cname(a)});\n"
                      f"  lock({self._cname(b)});\n"
                      " *** DEADLOCK ***\n" + self._held_text())

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

