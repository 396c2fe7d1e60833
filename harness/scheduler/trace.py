"""The trace: what a run did, in the order it did it, and its hash.

On disk (``.mmtrace``)::

    line 1   JSON header: {"format": 2, "mmstress": version, "scenario": name,
             "scenario_hash": sha256 of the scenario text, "seed": n,
             "strategy": a --sched name, "options": {the strategy's declared
             options, irq_rate, sched_seed}, "cpus": n,
             "python": "3.11.7", "steps": count, "hash": trace hash,
             "violation": {"kind", "site"} or null, "ops": [...] (optional)}
    rest     zlib-compressed steps, two bytes each: CPU, yield kind code

The trace hash is sha256 over the step bytes and the violation kinds found:
two runs are the same run if and only if their hashes are equal.
"""

import hashlib
import json
import platform
import zlib

from .base import YIELD_KINDS

FORMAT = 2        # 2: shared memory accesses are steps (the ``access`` yield kind)


class TraceError(Exception):
    """A trace file that cannot be used (other format, other scenario, damaged)."""


def trace_hash(step_bytes, violation_kinds=()):
    h = hashlib.sha256(bytes(step_bytes))
    for kind in sorted(violation_kinds):
        h.update(b"\0" + kind.encode())
    return h.hexdigest()[:16]


def steps_from_bytes(raw):
    return [(raw[i], raw[i + 1]) for i in range(0, len(raw) - 1, 2)]


def steps_to_bytes(steps):
    out = bytearray()
    for cpu, kind in steps:
        out += bytes((cpu, kind))
    return bytes(out)


def rerecord_command(header, path):
    """The command that records ``header``'s run again (an old trace's header)."""
    parts = ["mmstress", "run", str(header.get("source") or header.get("scenario") or "SCENARIO")]
    strategy = header.get("strategy")
    if strategy in ("random", "pct", "free"):
        parts += ["--sched", strategy]
        depth = (header.get("options") or {}).get("depth")
        if strategy == "pct" and depth:
            parts += ["--depth", str(depth)]
    if header.get("ops"):
        parts += ["--ops", str(header["ops"])]
    if header.get("cpus"):
        parts += ["--cpus", str(header["cpus"])]
    parts += ["--seed", str(header.get("seed", 0)), "--trace", str(path)]
    return " ".join(parts)


class Trace:
    def __init__(self, header, steps):
        self.header = dict(header)
        self.steps = list(steps)

    @property
    def hash(self):
        return self.header.get("hash")

    def save(self, path):
        header = dict(self.header, format=FORMAT, steps=len(self.steps),
                      python=platform.python_version())
        with open(path, "wb") as f:
            f.write(json.dumps(header, sort_keys=True).encode() + b"\n")
            f.write(zlib.compress(steps_to_bytes(self.steps), 9))

    @classmethod
    def load(cls, path):
        try:
            with open(path, "rb") as f:
                first = f.readline()
                body = f.read()
        except OSError as exc:
            raise TraceError(f"cannot read trace {path}: {exc.strerror}") from None
        try:
            header = json.loads(first)
        except ValueError:
            raise TraceError(f"{path} is not an mmstress trace (no JSON header)") from None
        fmt = header.get("format")
        if isinstance(fmt, int) and fmt < FORMAT:
            raise TraceError(f"{path} was recorded by an older mmstress (trace format {fmt}); "
                             f"re-record it with `{rerecord_command(header, path)}` (this "
                             f"mmstress reads format {FORMAT}: since format 2 shared memory "
                             f"accesses are steps)")
        if fmt != FORMAT:
            raise TraceError(f"{path} has trace format {fmt}; this mmstress "
                             f"reads format {FORMAT}: re-record it with this version")
        try:
            steps = steps_from_bytes(zlib.decompress(body))
        except zlib.error:
            raise TraceError(f"{path}: the step data is damaged") from None
        return cls(header, steps)

    def render(self, limit=None):
        """Readable steps: ``   12  CPU 1  lock``."""
        lines = []
        for i, (cpu, kind) in enumerate(self.steps[:limit], 1):
            lines.append(f"{i:6d}  CPU {cpu}  {YIELD_KINDS[kind] if kind < len(YIELD_KINDS) else kind}")
        return "\n".join(lines)


def first_difference(a, b):
    """Index (1-based) of the first step where two step lists differ, or None."""
    for i, (x, y) in enumerate(zip(a, b), 1):
        if x != y:
            return i
    if len(a) != len(b):
        return min(len(a), len(b)) + 1
    return None
