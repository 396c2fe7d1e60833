"""A violation as data: the record a checker makes, and where in the workload it happened.

A checker never writes terminal text.  It fills a ``Violation`` (kind, the
CPU/context/pid that hit it, the workload site and call trace, the model
function called, the objects, their alloc/free tracks, the locks held, a lock
dependency chain, kind-specific ``details``) and the renderers in
``harness/outputs/`` (kernel-style text, JSON, JUnit, sweep grouping) read
it.  Nothing parses a rendered string back.

One bug, one record.  ``key()`` is (kind, normalised site) -- the syzkaller
title idea: a report is identified by what went wrong and where in the
workload, never by addresses, pfns or sizes (normalised out).  A checker may
set ``key_site`` where the site of one bug legitimately varies from run to
run (a double free keys on the object's allocation site: which of the two
frees comes second is the interleaving's choice; a freelist corruption keys
on the cache).  Repeats of a key on one CPU are counted in that CPU's sink,
keeping the first ``MAX_OBJECTS`` objects and counting the rest; the machine
sums the counts of all CPUs per key (``harness/outputs/merge.py``).

Sites (``capture``).  The site is the innermost *workload* frame, printed as
``file:line (function)`` with the file relative to the repository.  The
walk goes outward from the checker and skips the model (kernel_model/), the
harness, the standard library and site-packages, and it never goes past the
frame that entered the current context (``harness/runtime/cpu.py``'s guarded
call, the interrupt and softirq entry code): a hardirq handler runs inside a
signal handler, and the frame it interrupted belongs to another context.  In
an op-mix scenario there is no workload module: its ops run through a
function compiled at the op entry's TOML line (``opmix.at_line``), so the
site is ``scenarios/x.toml:15 ([hardirq] kmalloc)`` for an allocation, the
mix's table line for a free -- and the model's alloc/free tracks say the same.  A report with no
workload frame at all (end-of-run checks) names what it checked instead.
"""

import os
import re
import sys
import sysconfig
from dataclasses import asdict, dataclass, field

from harness.runtime.paths import ROOT, rel  # noqa: F401  (records name files this way)

# The text renderer (harness.outputs.text registers itself when imported): records are
# data and checkers never import an output; ``title``/``splat`` are conveniences for the
# processes that have it (the machine, the forked CPUs, tests).
RENDERER = None
MAX_OBJECTS = 4          # objects kept per record; further ones are counted (floods)
MAX_FRAMES = 8           # workload frames in a Call Trace

_HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS_DIR = os.path.dirname(_HERE) + os.sep
MODEL_DIR = ROOT + "kernel_model" + os.sep
RUNTIME_DIR = HARNESS_DIR + "runtime" + os.sep
# The frames that enter a context: a site walk stops there (what lies beyond is the
# interrupted context or the CPU's main loop).
ENTRY_FILES = tuple(RUNTIME_DIR + f for f in ("cpu.py", "irq.py", "softirq.py"))
_LIB_DIRS = tuple(sorted({os.path.realpath(p) + os.sep for p in
                          (sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib",
                                                                    "purelib", "platlib"))
                          if p} | {os.path.dirname(os.__file__) + os.sep}))
_ADDR = re.compile(r"0x[0-9a-fA-F]+|\bpfn:?\s*[0-9a-fA-F]+")


@dataclass
class Violation:
    """One bug seen on one CPU (``count`` times); see the module docstring.

    ``tracks``: {"alloc"|"free": {cpu, context, pid, seq, site}};
    ``locks_held``: [{name, site}] outermost first; ``lock_chain``: [{lock,
    after, site, cpu}] the dependency edges of a cycle, oldest first;
    ``objects``: [{address, cache, size, pfn, ...}] as the kind needs.
    """
    kind: str
    cpu: int
    context: str
    pid: int = 0
    comm: str = ""
    seq: int = 0
    site: str = "?"
    frames: list = field(default_factory=list)
    function: str = ""
    objects: list = field(default_factory=list)
    objects_dropped: int = 0
    tracks: dict = field(default_factory=dict)
    locks_held: list = field(default_factory=list)
    lock_chain: list = field(default_factory=list)
    details: dict = field(default_factory=dict)
    count: int = 1
    key_site: str = ""
    text: str = ""        # only records of the old emit(kind, text) API: the checker's text
    title: str = ""       # the splat's first line, computed once when the sink first keeps it
    sites: dict = field(default_factory=dict, repr=False)   # the old API's {alloc|free: text}

    def __post_init__(self):
        if self.sites:                    # a checker written against the old dataclass
            for which, text in self.sites.items():
                self.tracks.setdefault(which, {"site": text})
            self.sites = {}

    def key(self):
        return (self.kind, normalise(self.key_site or self.site))

    def merge(self, other):
        """A repeat of this record (same key): count it, keep the first few objects.  A
        repeat that knows more (both sides of a race, where the first saw one) lends the
        record its facts; returns True then, so the sink can tell the machine."""
        self.count += other.count
        add_objects(self, other.objects, other.objects_dropped)
        if len(other.tracks) > len(self.tracks):
            self.site, self.frames, self.tracks = other.site, other.frames, other.tracks
            self.text, self.details, self.title = other.text, other.details, ""
            self.compute_title()
            return True
        return False

    def compute_title(self):
        """Fill ``title`` from the text renderer (once: the sink calls it for a new key).
        Without a renderer registered the machine's merge fills it (outputs/merge.py)."""
        if not self.title and RENDERER is not None:
            self.title = RENDERER.title(self.to_dict())
        return self.title

    @property
    def splat(self):
        """The whole kernel-style text (``harness/outputs/text.py``), for tests and tools."""
        if RENDERER is None:
            raise RuntimeError("no text renderer registered: import harness.outputs.text")
        return RENDERER.render(self.to_dict())

    def to_dict(self):
        d = asdict(self)
        del d["sites"]
        d["key"] = key_text(self.key())
        return d


def add_objects(rec, objects, dropped=0):
    """Append ``objects`` to a record (object or dict) up to MAX_OBJECTS, counting the rest."""
    objs = rec.objects if isinstance(rec, Violation) else rec.setdefault("objects", [])
    room = max(0, MAX_OBJECTS - len(objs))
    new = [o for o in objects if o not in objs]
    objs.extend(new[:room])
    extra = max(0, len(new) - room) + dropped
    if isinstance(rec, Violation):
        rec.objects_dropped += extra
    else:
        rec["objects_dropped"] = rec.get("objects_dropped", 0) + extra


def normalise(site):
    """A site without addresses or pfns: what the dedup key holds."""
    return _ADDR.sub("ADDR", site or "?")


def key_text(key):
    """The key as one string (JSON, sweep groups): ``double-free @ scenarios/x.py:12 (process)``."""
    return f"{key[0]} @ {key[1]}"


def frame_text(f):
    return f"{rel(f.f_code.co_filename)}:{f.f_lineno} ({f.f_code.co_name})"


def _library(fname):
    return fname.startswith("<") or fname.startswith(_LIB_DIRS)


def capture(frame=None, depth=1):
    """(site, frames) of the workload code on this context's stack; see the module docstring.

    ``frame``: start from this frame instead of the caller's (``depth`` frames up)."""
    f = frame if frame is not None else sys._getframe(depth)
    frames, fallback = [], None
    while f is not None:
        fname = f.f_code.co_filename
        if fname.startswith(ENTRY_FILES):
            if fallback is None:
                fallback = frame_text(f)
            break
        if not fname.startswith((MODEL_DIR, HARNESS_DIR)) and not _library(fname):
            frames.append(frame_text(f))
            if len(frames) >= MAX_FRAMES:
                break
        f = f.f_back
    if frames:
        return frames[0], frames
    return (fallback or "?"), []


def tb_site(tb):
    """The innermost workload frame of a traceback (an exception a workload raised), or None."""
    site = None
    while tb is not None:
        f = tb.tb_frame
        fname = f.f_code.co_filename
        if not fname.startswith((MODEL_DIR, HARNESS_DIR)) and not _library(fname):
            site = f"{rel(fname)}:{tb.tb_lineno} ({f.f_code.co_name})"
        tb = tb.tb_next
    return site
