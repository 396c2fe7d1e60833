"""Where checkers and the fault injector plug in: build the DebugHooks each CPU installs.

The hook object is ``harness.checkers.CheckerHooks``: for every hook of
``kernel_model.debug.DebugHooks`` it calls the providers that define it, and
with none every hook is the model's no-op.  Providers are the checkers a
scenario names (``harness.checkers.REGISTRY``) and, when the scenario has a
``[fault]`` section, one ``harness.runtime.faults.FaultInjector`` beside them: it
answers ``should_failslab`` / ``should_fail_alloc_page`` (and re-arms
fail-nth in ``context_exit``); no checker defines those, so the fan-out
gives the injector's answer as it is.

This module adds what a multi-process run needs: each new violation is sent
to the machine the moment the sink records it (so a CPU that dies later loses
nothing), and at the end the CPU sends the repeat counts the sink merged.

How the [fault] section reaches a CPU: ``make_hooks(names, node, send,
faults=None, seed=None)``.  Until the CPU passes ``faults`` and ``seed``
explicitly, ``names`` (the scenario's ``checkers``) is a ``CheckerNames``
list that carries the scenario's FaultConfig, and the fault streams are
seeded from 0 (still reproducible, but the same for every run seed).
"""

from kernel_model import context

from harness import checkers as _checkers
from harness.runtime import access as _access
from harness.runtime import bootargs as _bootargs, counters as _counters, faults as _faults

CHECKERS = _checkers.REGISTRY


class CheckerNames(list):
    """A scenario's checker names; ``.faults`` is its [fault] section (or None),
    ``.debug`` its [debug] section (a bootargs.BootArgs, or None)."""

    def __init__(self, names=(), faults=None, debug=None):
        super().__init__(names)
        self.faults = faults
        self.debug = debug


def arena_sections(names, max_locks, nr_pages=None):
    """Shared state the named checkers need in the arena (lockdep's order graph, KASAN's
    page shadow: sized by ``nr_pages``), and the shared-line table of the memory access
    points (harness.runtime.access)."""
    out = _checkers.arena_sections(list(names), max_locks, nr_pages) if names else []
    return out + _access.arena_sections()


def make_hooks(names, node, send, faults=None, seed=None):
    """(hooks, sink) for one CPU; ``send(dict)`` gets every new violation at once.

    ``faults``: a harness.runtime.faults.FaultConfig (default: ``names.faults``);
    ``seed``: the run's seed, from which each CPU's fault streams derive.
    """
    sink = _checkers.ViolationSink()
    sink.listeners.append(lambda v: send(v.to_dict()))
    providers = [CHECKERS[n](sink, node) for n in names]
    faults = faults if faults is not None else getattr(names, "faults", None)
    injector = None
    if faults is not None and faults.active:
        cpu = context.this_cpu.id
        injector = _faults.FaultInjector(
            faults, cpu, seed if seed is not None else 0,
            count_slot=_faults.percpu_counter(node, node.nr_cpus, cpu))
        providers.append(injector)
    hooks = _checkers.CheckerHooks(providers, sink)
    hooks.faults = injector
    v = node.arena.v if node is not None else {}
    _bootargs.apply_hooks(hooks, sink, getattr(names, "debug", None), v.get("run_ctl"),
                          _counters.CTL_STOP)
    return hooks, sink


def repeat_counts(sink):
    """[{key, count, objects, objects_dropped}] of violations seen more than once in this CPU."""
    return sink.repeats()
