"""Schedulers: who runs at each yield point (one strategy per module).

    free     the OS decides; the order of yield points is recorded
    random   one CPU at a time; switch with a small probability per yield point
    pct      one CPU at a time; PCT priorities and change points (ASPLOS 2010)
    pos      one CPU at a time; Partial Order Sampling priorities (CAV 2018)
    dfs      one CPU at a time; forced choices, otherwise no preemption (the
             bounded exhaustive search's executions)
    replay   one CPU at a time; follow a recorded trace, report divergence

``REGISTRY`` maps a name to its class (the contract: ``base.Scheduler``);
each class declares its options.  ``make(name, **options)`` builds one;
``engine.SchedEngine`` runs it over the CPU processes; ``trace`` is the
on-disk format.  A new strategy: one module and one line in ``REGISTRY``.
"""

from .base import KIND_CODE, YIELD_KINDS, SchedView, Strategy
from .dfs import DfsScheduler
from .free import FreeScheduler
from .pct import PctScheduler
from .pos import PosScheduler
from .random import RandomScheduler
from .replay import GuidedScheduler, Divergence, ReplayScheduler

REGISTRY = {cls.name: cls for cls in (FreeScheduler, RandomScheduler, PctScheduler,
                                      PosScheduler, DfsScheduler, ReplayScheduler,
                                      GuidedScheduler)}

STRATEGIES = tuple(n for n in REGISTRY if n not in ("replay", "guided"))   # what --sched offers


def make(name, irq_rate=0.0, **options):
    """A strategy by name; ``options`` are its declared ones (TypeError for others)."""
    cls = REGISTRY.get(name)
    if cls is None:
        raise ValueError(f"unknown scheduler {name!r}: one of {', '.join(REGISTRY)}")
    return cls(irq_rate=irq_rate, **options)


def all_options():
    """Every declared option, by name (one name means one thing across strategies)."""
    out = {}
    for cls in REGISTRY.values():
        for o in cls.OPTIONS:
            out.setdefault(o.name, o)
    return out


__all__ = ["KIND_CODE", "YIELD_KINDS", "SchedView", "Strategy", "FreeScheduler", "PctScheduler",
           "PosScheduler", "DfsScheduler", "RandomScheduler", "ReplayScheduler", "Divergence",
           "REGISTRY", "STRATEGIES", "make", "all_options"]
