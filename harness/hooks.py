"""Where checkers plug in: build the DebugHooks each CPU installs, stream what they find.

The hook object is ``harness.checkers.CheckerHooks``: for every hook of
``kernel_model.debug.DebugHooks`` it calls the checkers that define it, and
with no checkers (the default, ``checkers = []`` in a scenario) every hook is
the model's no-op.  Scenarios name checkers from ``harness.checkers.REGISTRY``.

This module adds what a multi-process run needs: each new violation is sent
to the machine the moment the sink records it (so a CPU that dies later loses
nothing), and at the end the CPU sends the repeat counts the sink merged.
"""

from . import checkers as _checkers

CHECKERS = _checkers.REGISTRY


def arena_sections(names, max_locks):
    """Shared state the named checkers need in the arena (lockdep's order graph ...)."""
    return _checkers.arena_sections(names, max_locks) if names else []


def make_hooks(names, node, send):
    """(hooks, sink) for one CPU; ``send(dict)`` gets every new violation at once."""
    sink = _checkers.ViolationSink()
    sink.listeners.append(lambda v: send(v.to_dict()))
    return _checkers.build(list(names), node, sink), sink


def repeat_counts(sink):
    """[[kind, site, title], count] of violations seen more than once in this CPU."""
    return [[list(v.key()), v.count] for v in sink.violations if v.count > 1]
