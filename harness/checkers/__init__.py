"""Checkers: one bug family per module, each a set of kernel_model.debug hooks.

    sleep      might_sleep in atomic context            (CONFIG_DEBUG_ATOMIC_SLEEP)
    gfp        GFP misuse reported by the model           (WARN_ON_ONCE_GFP, kmalloc_fix_flags)
    lockdep    lock order, irq safety, balance            (CONFIG_PROVE_LOCKING)
    percpu     fast paths, foreign slots, irq races       (CONFIG_DEBUG_PREEMPT and more)
    memory     double/invalid/wrong-cache frees, use-after-free, out-of-bounds, freelist
               corruption, bad page, bad vfree, destroy with live objects
                                                       (KASAN, SLUB_DEBUG, DEBUG_VM)
    kmemleak   objects still allocated after every CPU's teardown   (CONFIG_DEBUG_KMEMLEAK)
    invariants whole-model consistency at the end          (CONFIG_DEBUG_VM)
    kcsan      data races: watchpoints on plain accesses  (CONFIG_KCSAN)

``build(names, pgdat)`` makes the CheckerHooks to install in a CPU;
``arena_sections(names, max_locks)`` lists the shared state they need at boot.
"""

from .base import Checker, CheckerHooks, Violation, ViolationSink
from .gfp import GfpChecker
from .invariants import InvariantChecker
from .kcsan import KcsanChecker
from .kmemleak import KmemleakChecker
from .lockdep import LockdepChecker
from .memory import MemoryChecker
from .percpu import PercpuChecker
from .sleep import SleepChecker

REGISTRY = {c.name: c for c in (SleepChecker, GfpChecker, LockdepChecker, PercpuChecker,
                                MemoryChecker, KmemleakChecker, InvariantChecker, KcsanChecker)}
DEFAULT = tuple(REGISTRY)


def arena_sections(names=DEFAULT, max_locks=None):
    out = []
    for name in names:
        cls = REGISTRY[name]
        if hasattr(cls, "arena_sections"):
            out += cls.arena_sections(max_locks) if max_locks else cls.arena_sections()
    return out


def build(names, pgdat, sink=None):
    sink = sink if sink is not None else ViolationSink()
    return CheckerHooks([REGISTRY[n](sink, pgdat) for n in names], sink)


__all__ = ["Checker", "CheckerHooks", "Violation", "ViolationSink", "REGISTRY", "DEFAULT",
           "arena_sections", "build"]
