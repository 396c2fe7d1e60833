"""The checker interface and the hook object that fans model events out to checkers.

A checker is a class with a ``name`` (the scenario's ``[checkers]`` key) and
any of the hook methods of ``kernel_model.debug.DebugHooks``.  ``CheckerHooks``
is the DebugHooks the harness installs in each CPU: for every hook it calls,
in order, the checkers that define it -- and only those, so a hook no checker
wants costs one no-op call.  Checkers report through ``self.emit(kind, text,
**facts)``; the sink (``CheckerHooks.sink``) collects ``Violation`` records,
counting repeats of one bug at one site instead of repeating them.

Checkers run in the CPU's own process, inside the model call that triggered
them (possibly inside a signal handler): they must be quick, must not
allocate through the model, and must never raise except where the kernel
would stop (a self-deadlock).
"""

import os
import sys
from dataclasses import asdict, dataclass, field

from kernel_model import context, debug

from .kinds import KINDS

# The model's and the harness's own folders (not any path that merely contains "harness/":
# a workload or a test in tests/harness/ is the user's code, and its line is the site).
_MODEL_DIRS = (os.path.dirname(os.path.abspath(context.__file__)) + os.sep,                # kernel_model/
               os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep)      # harness/
_INTERNAL = {}                  # co_filename -> inside _MODEL_DIRS


def _internal(fname):
    hit = _INTERNAL.get(fname)
    if hit is None:
        hit = _INTERNAL[fname] = os.path.abspath(fname).startswith(_MODEL_DIRS)
    return hit


@dataclass
class Violation:
    kind: str
    title: str
    text: str
    cpu: int
    context: str
    seq: int
    site: str = ""
    sites: dict = field(default_factory=dict)
    count: int = 1

    def key(self):
        return (self.kind, self.site, self.title)

    def to_dict(self):
        return asdict(self)


def workload_site(skip_model=True, frame=None):
    """``file:line (function)`` of the innermost frame outside the model and harness.

    ``frame``: start from this (saved) frame instead of the caller's.
    """
    frame = frame if frame is not None else sys._getframe(1)
    fallback = None
    while frame is not None:
        fname = frame.f_code.co_filename
        here = f"{fname}:{frame.f_lineno} ({frame.f_code.co_name})"
        if fallback is None:
            fallback = here
        if not skip_model or not _internal(fname):
            return here
        frame = frame.f_back
    return fallback or "?"


class ViolationSink:
    """Collects violations in this process, merging repeats of one bug at one site."""

    def __init__(self, limit=1000):
        self.violations = []
        self._index = {}
        self.limit = limit
        self.listeners = []

    def add(self, v):
        key = v.key()
        old = self._index.get(key)
        if old is not None:
            old.count += 1
            return old
        if len(self.violations) >= self.limit:
            return None
        self._index[key] = v
        self.violations.append(v)
        for listener in self.listeners:
            listener(v)
        return v


class Checker:
    """Base of every checker: override hook methods; report with ``emit``."""

    name = "checker"

    def __init__(self, sink=None, pgdat=None):
        self.sink = sink if sink is not None else ViolationSink()
        self.pgdat = pgdat

    def emit(self, kind, text, site=None, sites=None):
        assert kind in KINDS, kind
        cpu = context.this_cpu
        title = text.splitlines()[0]
        kinfo = KINDS[kind]
        full = f"{text}\n\nWhat to do: {kinfo.fix}\n(mmstress explain {kind})"
        v = Violation(kind=kind, title=title, text=full, cpu=cpu.id,
                      context=context.CTX_NAMES[cpu.context()], seq=cpu.seq,
                      site=site if site is not None else workload_site(), sites=sites or {})
        return self.sink.add(v)

    def finish(self):
        """End of run on this CPU (leaks, held locks, counters); may emit."""


HOOK_NAMES = [n for n, v in vars(debug.DebugHooks).items()
              if callable(v) and not n.startswith("_")]


class CheckerHooks(debug.DebugHooks):
    """The DebugHooks object the harness installs: fans out to checkers."""

    def __init__(self, checkers, sink):
        self.checkers = list(checkers)
        self.sink = sink
        for hook in HOOK_NAMES:
            impls = [getattr(c, hook) for c in self.checkers
                     if getattr(type(c), hook, None) is not None
                     and getattr(type(c), hook) is not getattr(Checker, hook, None)]
            if not impls:
                continue
            if len(impls) == 1:
                setattr(self, hook, impls[0])
            else:
                setattr(self, hook, _fan_out(impls))

    def finish(self):
        for c in self.checkers:
            c.finish()
        return self.sink.violations


def _fan_out(impls):
    """One hook, several checkers: call each in order; the last truthy result wins
    (should_fail* hooks).  Two checkers, the common case, get a call without a loop."""
    if len(impls) == 2:
        first, second = impls

        def call2(*args, **kw):
            r1 = first(*args, **kw)
            r2 = second(*args, **kw)
            return r2 or r1 or None
        return call2

    def call(*args, **kw):
        result = None
        for f in impls:
            r = f(*args, **kw)
            if r:
                result = r
        return result
    return call
