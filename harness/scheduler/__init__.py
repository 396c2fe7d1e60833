"""Schedulers: who runs at each yield point (one strategy per module).

    free     the OS decides; the order of yield points is recorded
    random   one CPU at a time; switch with a small probability per yield point
    pct      one CPU at a time; PCT priorities and change points (ASPLOS 2010)
    replay   one CPU at a time; follow a recorded trace, report divergence
    guided   one CPU at a time; follow a candidate order where it applies (minimize)

``make(name, **options)`` builds one; ``engine.SchedEngine`` runs it over the
CPU processes; ``trace`` is the on-disk format.
"""

from .base import KIND_CODE, YIELD_KINDS, SchedView
from .free import FreeScheduler
from .pct import PctScheduler
from .random import RandomScheduler
from .replay import Divergence, GuidedScheduler, ReplayScheduler

STRATEGIES = ("free", "random", "pct")


def make(name, depth=3, steps=20000, switch_prob=1 / 32, irq_rate=0.0, trace_steps=None):
    if name == "free":
        return FreeScheduler()
    if name == "random":
        return RandomScheduler(switch_prob=switch_prob, irq_rate=irq_rate)
    if name == "pct":
        return PctScheduler(depth=depth, steps=steps, irq_rate=irq_rate)
    if name == "replay":
        return ReplayScheduler(trace_steps)
    if name == "guided":
        return GuidedScheduler(trace_steps or [])
    raise ValueError(f"unknown scheduler {name!r}: one of free, random, pct")


__all__ = ["KIND_CODE", "YIELD_KINDS", "SchedView", "FreeScheduler", "PctScheduler",
           "RandomScheduler", "ReplayScheduler", "GuidedScheduler", "Divergence", "STRATEGIES", "make"]
