"""Checkers: one bug family per module, each a set of kernel_model.debug hooks.

    sleep      might_sleep in atomic context            (CONFIG_DEBUG_ATOMIC_SLEEP)
    gfp        GFP misuse reported by the model           (WARN_ON_ONCE_GFP, kmalloc_fix_flags)
    lockdep    lock order, irq safety, balance            (CONFIG_PROVE_LOCKING)
    deadlock   a wait-for cycle of CPUs spinning on locks: a deadlock that happened
    percpu     fast paths, foreign slots, irq races       (CONFIG_DEBUG_PREEMPT and more)
    memory     double/invalid/wrong-cache frees, use-after-free, out-of-bounds, freelist
               corruption, bad page, bad vfree, destroy with live objects
                                                       (KASAN, SLUB_DEBUG, DEBUG_VM)
    kmemleak   objects no root or live object refers to after every CPU's teardown
                                                       (CONFIG_DEBUG_KMEMLEAK)
    kasan_pages  use-after-free and out-of-bounds in page allocator, large kmalloc and
               vmalloc memory; page faults; large kmalloc leaks  (generic KASAN, KASAN_VMALLOC)
    invariants whole-model consistency at the end          (CONFIG_DEBUG_VM)
    kcsan      data races: watchpoints on plain accesses  (CONFIG_KCSAN)
    numa       a lint, off by default (LINTS): an allocation that named this CPU's
               node and got another node's memory

Every report is a record (``record.Violation``: kind, workload site, objects,
tracks, locks, details), made with ``Checker.violation(kind, ...)``; one bug is
one key (kind + normalised site); the words are ``harness/outputs/text.py``'s.

``build(names, pgdat)`` makes the CheckerHooks to install in a CPU;
``arena_sections(names, max_locks, nr_pages)`` lists the shared state they need at
boot (a checker whose ``arena_sections`` takes ``nr_pages`` gets the model's size).
"""

import inspect

from .base import Checker, CheckerHooks, Violation, ViolationSink
from .deadlock import DeadlockChecker
from .gfp import GfpChecker
from .invariants import InvariantChecker
from .kasan_pages import KasanPagesChecker
from .kcsan import KcsanChecker
from .kmemleak import KmemleakChecker
from .lockdep import LockdepChecker
from .memory import MemoryChecker
from .numa import NumaChecker
from .percpu import PercpuChecker
from .sleep import SleepChecker

REGISTRY = {c.name: c for c in (SleepChecker, GfpChecker, LockdepChecker, DeadlockChecker,
                                PercpuChecker, MemoryChecker, KmemleakChecker, KasanPagesChecker,
                                InvariantChecker, KcsanChecker, NumaChecker)}
LINTS = ("numa",)                     # only when a scenario names them
DEFAULT = tuple(n for n in REGISTRY if n not in LINTS)


def arena_sections(names=DEFAULT, max_locks=None, nr_pages=None):
    out = []
    for name in names:
        cls = REGISTRY[name]
        if hasattr(cls, "arena_sections"):
            kw = {"nr_pages": nr_pages} if nr_pages and "nr_pages" in \
                inspect.signature(cls.arena_sections).parameters else {}
            out += cls.arena_sections(max_locks, **kw) if max_locks else cls.arena_sections(**kw)
    return out


def build(names, pgdat, sink=None):
    sink = sink if sink is not None else ViolationSink()
    return CheckerHooks([REGISTRY[n](sink, pgdat) for n in names], sink)


__all__ = ["Checker", "CheckerHooks", "Violation", "ViolationSink", "REGISTRY", "DEFAULT", "LINTS",
           "arena_sections", "build"]
