"""The checker interface and the hook object that fans model events out to checkers.

A checker is a class with a ``name`` (the scenario's ``[checkers]`` key) and
any of the hook methods of ``kernel_model.debug.DebugHooks``.  ``CheckerHooks``
is the DebugHooks the harness installs in each CPU: for every hook it calls,
in order, the checkers that define it -- and only those, so a hook no checker
wants costs one no-op call.

Reporting: a checker makes a record, never text (``record.Violation``)::

    self.violation(kind, function="kfree", objects=[{"address": a, "cache": c}],
                tracks={"alloc": t, "free": t2}, details={...}, key_site="...")

fills the CPU, context, pid, comm and op count, the workload ``site`` and
``frames`` (``record.capture``: the innermost workload frame of this context,
or pass ``site=``/``frame=``), the locks this CPU holds (from lockdep, when
it runs) and hands the record to the sink.  Every argument but ``kind`` is
optional; ``details`` carries the kind's own facts and the text renderer
(``harness/outputs/text.py``) words them as the kernel does.  The old form
``self.emit(kind, text, site=..., sites=...)`` still works for checkers
written against it: it makes a record whose ``text`` is the given text (the
renderer prints it as it is) and whose ``tracks`` come from ``sites``; so
does building ``Violation(kind=, title=, text=, cpu=, context=, seq=, site=,
sites=)`` directly, as the old dataclass was built.  ``title`` is computed
once, by the text renderer, when the sink first keeps a key.

The sink (``CheckerHooks.sink``) keeps one record per key (kind + normalised
site) and counts repeats; ``sink.repeats()`` is what a CPU sends at its end.

Checkers run in the CPU's own process, inside the model call that triggered
them (possibly inside a signal handler): they must be quick, must not
allocate through the model, and must never raise except where the kernel
would stop (a self-deadlock).
"""

import dataclasses
import inspect

from kernel_model import context, debug

from .kinds import KINDS
from .record import Violation, add_objects, capture


def workload_site(skip_model=True, frame=None):
    """``file:line (function)`` of the innermost workload frame (``record.capture``).

    ``frame``: start from this (saved) frame instead of the caller's."""
    return capture(frame, depth=2)[0]


class ViolationSink:
    """Collects violations in this process, merging repeats of one bug (one key)."""

    def __init__(self, limit=1000):
        self.violations = []
        self._index = {}
        self.limit = limit
        self.listeners = []
        self.held_locks = None         # () -> [{name, site}]: set by CheckerHooks from lockdep

    def add(self, v):
        key = v.key()
        old = self._index.get(key)
        if old is not None:
            if old.merge(v):                  # the record now knows more: the machine hears it
                upgrade = dataclasses.replace(old, count=0)
                for listener in self.listeners:
                    listener(upgrade)
            return old
        if len(self.violations) >= self.limit:
            return None
        v.compute_title()
        self._index[key] = v
        self.violations.append(v)
        for listener in self.listeners:
            listener(v)
        return v

    def repeats(self):
        """What the first sends did not carry: per key, the count and the objects kept."""
        return [{"key": list(v.key()), "count": v.count, "objects": v.objects,
                 "objects_dropped": v.objects_dropped}
                for v in self.violations if v.count > 1]


class Checker:
    """Base of every checker: override hook methods; report with ``emit``."""

    name = "checker"

    def __init__(self, sink=None, pgdat=None):
        self.sink = sink if sink is not None else ViolationSink()
        self.pgdat = pgdat

    def violation(self, kind, *, site=None, frames=None, frame=None, function="", objects=(),
               tracks=None, locks_held=None, lock_chain=(), details=None, key_site="", text=""):
        """Record a violation of ``kind`` on this CPU; see the module docstring."""
        assert kind in KINDS, kind
        cpu = context.this_cpu
        if site is None:
            site, captured = capture(frame, depth=2)
            frames = captured if frames is None else frames
        if locks_held is None:
            locks_held = self.sink.held_locks() if self.sink.held_locks is not None else []
        v = Violation(kind=kind, cpu=cpu.id, context=context.CTX_NAMES[cpu.context()],
                      pid=cpu.pid, comm=cpu.comm, seq=cpu.seq, site=site,
                      frames=list(frames or ([site] if site and site != "?" else [])),
                      function=function, tracks=dict(tracks or {}), locks_held=list(locks_held),
                      lock_chain=list(lock_chain), details=dict(details or {}),
                      key_site=key_site, text=text)
        if objects:
            add_objects(v, list(objects))
        return self.sink.add(v)

    def emit(self, kind, text, site=None, sites=None):
        """The old API: ``text`` as the checker wrote it (first line = title)."""
        tracks = {k: {"site": s} for k, s in (sites or {}).items() if s}
        return self.violation(kind, site=site, tracks=tracks, text=text)

    def finish(self):
        """End of run on this CPU (leaks, held locks, counters); may emit."""


HOOK_NAMES = [n for n, v in vars(debug.DebugHooks).items()
              if callable(v) and not n.startswith("_")]


class CheckerHooks(debug.DebugHooks):
    """The DebugHooks object the harness installs: fans out to checkers."""

    def __init__(self, checkers, sink):
        self.checkers = list(checkers)
        self.sink = sink
        for c in self.checkers:
            if sink.held_locks is None and callable(getattr(c, "held_locks", None)):
                sink.held_locks = c.held_locks
        for hook in HOOK_NAMES:
            impls = [getattr(c, hook) for c in self.checkers
                     if getattr(type(c), hook, None) is not None
                     and getattr(type(c), hook) is not getattr(Checker, hook, None)]
            if not impls:
                continue
            if len(impls) == 1:
                setattr(self, hook, impls[0])
            else:
                setattr(self, hook, _fan_out(hook, impls))

    def finish(self):
        for c in self.checkers:
            c.finish()
        return self.sink.violations


def _fan_out(hook, impls):
    """One hook, several checkers: call each in order; the last truthy result wins
    (should_fail* hooks).

    The caller is made with the hook's own parameters (read from DebugHooks), as
    dataclasses writes an ``__init__``: a generic ``(*args, **kw)`` caller packs and
    unpacks its arguments at every call, a third more than the calls themselves, and
    with every checker on this runs at each lock and page operation."""
    params = list(inspect.signature(getattr(debug.DebugHooks, hook)).parameters.values())[1:]
    if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params) \
            or not all(_takes(f, len(params)) for f in impls):
        return _fan_out_any(impls)
    ns = {f"_f{i}": f for i, f in enumerate(impls)}
    head = []
    for j, p in enumerate(params):
        if p.default is p.empty:
            head.append(p.name)
        else:
            ns[f"_d{j}"] = p.default
            head.append(f"{p.name}=_d{j}")
    args = ", ".join(p.name for p in params)
    lines = [f"def {hook}({', '.join(head)}):", "    result = None"]
    for i in range(len(impls)):
        lines += [f"    r = _f{i}({args})", "    if r:", "        result = r"]
    lines.append("    return result")
    # compiled as this file's code: the checkers' frame walks pass over checker frames
    exec(compile("\n".join(lines), __file__, "exec"), ns)   # noqa: S102 - our own text
    return ns[hook]


def _takes(f, n):
    """Whether ``f`` accepts ``n`` positional arguments (a checker may leave out a
    hook's optional parameters; then it gets the generic caller)."""
    try:
        inspect.signature(f).bind(*range(n))
    except (TypeError, ValueError):
        return False
    return True


def _fan_out_any(impls):
    """The generic caller, for a hook with ``*args`` or keyword-only parameters."""
    def call(*args, **kw):
        result = None
        for f in impls:
            r = f(*args, **kw)
            if r:
                result = r
        return result
    return call
