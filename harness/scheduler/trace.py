"""The trace: what a run did, in the order it did it, and its hash.

On disk (``.mmtrace``)::

    line 1   JSON header: {"format": 4, "mmstress": version, "scenario": name,
             "source": library name or absolute path of the scenario file,
             "scenario_hash": sha256 of the scenario text (16 hex digits),
             "scenario_text": the scenario's TOML text itself,
             "workloads": {module or file as named: sha256 of its source} (the
             workload, its packages' __init__.py, the helpers of its folder it imports),
             "seed": n, "strategy": a --sched name, "options": {the strategy's
             declared options, irq_rate, sched_seed}, "cpus": n, "ops", "duration",
             "irq_mask", "python": "3.11.7", "steps": count, "hash": trace hash,
             "kinds", "violation": {"kind", "site", "title", "key"} or null,
             "violation_step", "exit_code", "truncated"}
    rest     zlib-compressed steps, two bytes each: CPU, yield kind code

The trace hash is sha256 over the step bytes and the violation kinds found:
two runs are the same run if and only if their hashes are equal.

A trace is data someone else may have written (a bug report's attachment, a
CI artifact), so reading one trusts nothing in it: only a regular file is
opened (never a FIFO or a device), the header line and the compressed body
are read up to fixed sizes, every header field is checked against
``HEADER_SCHEMA`` (type and bounds; the error names the field), and the body
is decompressed at most to the size the header declares.  Whether the
scenario and the workload code it names may run is ``harness/outputs/trust.py``.

Format 3 recorded a cpu_relax() busy-wait as ``spin`` (a CPU that could not
run until an unlock); format 4 records ``relax`` (a yield: still runnable),
which changes the schedules every strategy takes, so a format-3 trace is
refused with the command that re-records it.  Format 2 (before the header
carried the scenario text and the workload hashes) is read only when asked (``legacy=True``:
``--trust``), since nothing in it lets mmstress check what it would run.
"""

import hashlib
import json
import math
import os
import platform
import re
import stat
import zlib

from .base import YIELD_KINDS

FORMAT = 4        # 4: a cpu_relax() busy-wait is a step of its own kind (``relax``, was ``spin``)
STALE_FORMAT = 3  # 3: the header carries the scenario text and the workload modules' sha256
LEGACY_FORMAT = 2  # 2: shared memory accesses are steps (the ``access`` yield kind); no hashes

MAX_STEPS = 1 << 23                # options.FREE_MAX_STEPS: the longest recording there is
MAX_HEADER = 8 << 20               # the header line, scenario text included (JSON-escaped)
MAX_SCENARIO_TEXT = 1 << 20        # the scenario text a header may carry
MAX_BODY = 2 * MAX_STEPS + (1 << 20)   # zlib never grows data by more than a little
MAX_CPUS = 64                      # harness.scenario.MAX_CPUS
MAX_OPS = MAX_STEPS                # a run of more iterations would not fit in a trace
MAX_DURATION = 24 * 3600.0         # harness.scenario.units.MAX_DURATION


class TraceError(Exception):
    """A trace file that cannot be used (other format, other scenario, damaged)."""


class BadTrace(TraceError):
    """A trace that is invalid or not to be trusted as given: bad input, exit 2.

    Common causes: a damaged or hand-edited file; a header field of the wrong
    type or out of bounds; a scenario or workload module changed since the
    recording; a trace that names code outside the scenario library (see
    ``--trust``)."""


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
    def word(key, pattern=r"[A-Za-z0-9_./-]{1,200}"):
        value = header.get(key)
        return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) \
            and re.fullmatch(pattern, str(value)) else None
    parts = ["mmstress", "run", word("source") or word("scenario") or "SCENARIO"]
    strategy = header.get("strategy")
    if strategy in ("random", "pct", "free"):
        parts += ["--sched", strategy]
        options = header.get("options") if isinstance(header.get("options"), dict) else {}
        depth = options.get("depth")
        if strategy == "pct" and isinstance(depth, int) and depth:
            parts += ["--depth", str(depth)]
    for key in ("ops", "cpus"):
        if word(key, r"[0-9]{1,12}"):
            parts += [f"--{key}", word(key, r"[0-9]{1,12}")]
    parts += ["--seed", word("seed", r"[0-9]{1,19}") or "0", "--trace", str(path)]
    return " ".join(parts)


# -- the header's schema ----------------------------------------------------------------------------
def _is_int(v, lo, hi):
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _str(limit, pattern=None):
    def check(v):
        if not isinstance(v, str) or len(v) > limit:
            return f"a string of at most {limit:,} characters"
        if pattern and not re.fullmatch(pattern, v):
            return f"a string matching {pattern}"
        return None
    return check


def _int(lo, hi, nullable=False):
    def check(v):
        if v is None and nullable:
            return None
        return None if _is_int(v, lo, hi) else f"an integer from {lo:,} to {hi:,}" + (
            " or null" if nullable else "")
    return check


def _duration(v):
    if v is None:
        return None
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) \
        and 0 < v <= MAX_DURATION
    return None if ok else f"null or seconds, more than 0 and at most {MAX_DURATION:g}"


def _choice(*allowed):
    def check(v):
        return None if v in allowed else "one of " + ", ".join(map(repr, allowed))
    return check


def _bool(v):
    return None if isinstance(v, bool) else "true or false"


def _scalar(v):
    return v is None or isinstance(v, (bool, int, float)) and not (
        isinstance(v, float) and not math.isfinite(v)) or isinstance(v, str) and len(v) <= 200


def _options(v):
    if not isinstance(v, dict) or len(v) > 32:
        return "a table of at most 32 scheduling options"
    for key, value in v.items():
        if not re.fullmatch(r"[a-z_]{1,40}", key):
            return f"option names like depth or switch_prob, not {key[:40]!r}"
        if isinstance(value, list):
            if len(value) > 1000 or not all(_scalar(x) for x in value):
                return f"option {key}: a short list of numbers"
        elif not _scalar(value):
            return f"option {key}: a number, a string or a short list"
    return None


def _kinds(v):
    ok = isinstance(v, list) and len(v) <= 100 and all(
        isinstance(k, str) and re.fullmatch(r"[a-z0-9_-]{1,60}", k) for k in v)
    return None if ok else "a list of violation kinds (like double-free)"


def _violation(v):
    if v is None:
        return None
    if not isinstance(v, dict) or set(v) - {"kind", "site", "title", "key"}:
        return "null or a table of kind, site, title, key"
    for key, value in v.items():
        if value is not None and (not isinstance(value, str) or len(value) > 4096):
            return f"{key}: null or a string of at most 4,096 characters"
    return None


def _workloads(v):
    if not isinstance(v, dict) or len(v) > 64:
        return "a table of at most 64 modules"
    for module, digest in v.items():
        if not re.fullmatch(r"[^\x00-\x1f\x7f]{1,300}", module):
            return f"workload names like ring.py or scenarios.workloads.larson, not {module[:60]!r}"
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            return f"{module}: the sha256 of its source file (64 hex digits)"
    return None


_HEX = r"[0-9a-f]{1,64}"
# field -> (check returning None or what is allowed, required since format 3)
HEADER_SCHEMA = {
    "format": (_int(0, 1000), True),
    "mmstress": (_str(100), False),
    "python": (_str(100), False),
    "scenario": (_str(200), True),
    "source": (_str(4096), True),
    "scenario_hash": (_str(64, _HEX), True),
    "scenario_text": (_str(MAX_SCENARIO_TEXT), True),
    "workloads": (_workloads, True),
    "seed": (_int(0, 2**63 - 1), True),
    "strategy": (_str(40, r"[a-z_]+"), True),
    "options": (_options, True),
    "cpus": (_int(1, MAX_CPUS), True),
    "ops": (_int(1, MAX_OPS, nullable=True), False),
    "duration": (_duration, False),
    "irq_mask": (lambda v: None if v is None else _choice("lazy", "sigmask")(v), False),
    "hash": (lambda v: None if v is None else _str(64, _HEX)(v), False),
    "kinds": (_kinds, False),
    "violation": (_violation, False),
    "exit_code": (_int(0, 255, nullable=True), False),
    "truncated": (_bool, False),
    "steps": (_int(0, MAX_STEPS), True),
    "violation_step": (_int(1, MAX_STEPS, nullable=True), False),
}


def check_header(header, where):
    """``header`` as a valid dict, or BadTrace naming the first bad field."""
    if not isinstance(header, dict):
        raise BadTrace(f"{where} is not an mmstress trace (its first line is not a JSON table)")
    fmt = header.get("format")
    if not _is_int(fmt, 0, 1000):
        raise BadTrace(f"{where}: header field format: an integer expected "
                       f"(this mmstress reads trace format {FORMAT})")
    legacy = fmt == LEGACY_FORMAT
    for field, (check, required) in HEADER_SCHEMA.items():
        if field not in header:
            if required and not (legacy and field in ("scenario_text", "workloads", "steps",
                                                       "scenario_hash", "options")):
                raise BadTrace(f"{where}: header field {field} is missing")
            continue
        problem = check(header[field])
        if problem:
            raise BadTrace(f"{where}: header field {field}: {problem} expected")
    unknown = sorted(set(header) - set(HEADER_SCHEMA))
    if unknown and not legacy:
        raise BadTrace(f"{where}: header field {unknown[0][:60]!r} is not a trace field; "
                       f"allowed: {', '.join(HEADER_SCHEMA)}")
    step = header.get("violation_step")
    if step is not None and "steps" in header and step > header["steps"]:
        raise BadTrace(f"{where}: header field violation_step: at most steps "
                       f"({header['steps']:,}) expected")
    return header


def read_trace_file(path):
    """(header line, compressed body) of ``path``: a regular file only, read up to
    MAX_HEADER and MAX_BODY bytes (a FIFO or a device is refused before any read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError) as exc:
        raise BadTrace(f"cannot read trace {path}: {getattr(exc, 'strerror', None) or exc}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise BadTrace(f"{path} is not a regular file: a trace is a file saved by "
                       "mmstress run --trace")
    with os.fdopen(fd, "rb") as f:
        if st.st_size > MAX_HEADER + MAX_BODY:
            raise BadTrace(f"{path} is {st.st_size:,} bytes: larger than any trace "
                           f"({MAX_HEADER + MAX_BODY:,} at most)")
        first = f.readline(MAX_HEADER + 1)
        if len(first) > MAX_HEADER:
            raise BadTrace(f"{path}: the header line is longer than {MAX_HEADER:,} bytes: "
                           "not an mmstress trace")
        body = f.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise BadTrace(f"{path}: more step data than any trace holds")
    return first, body


def decompress_steps(body, declared, where):
    """The step bytes of a compressed ``body`` that must hold exactly ``declared``
    steps: never more than that is decompressed (a zlib bomb stops there)."""
    want = 2 * declared
    d = zlib.decompressobj()
    try:
        raw = d.decompress(body, want + 1)
    except zlib.error:
        raise BadTrace(f"{where}: the step data is damaged") from None
    if len(raw) > want or d.unconsumed_tail:
        raise BadTrace(f"{where}: the step data holds more than the {declared:,} steps "
                       "its header declares")
    if len(raw) < want or not d.eof:
        raise BadTrace(f"{where}: the step data is damaged or cut short ({len(raw) // 2:,} "
                       f"of the {declared:,} steps its header declares)")
    return raw


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
    def load(cls, path, legacy=False):
        """Read and check a trace file; ``legacy``: also read format 2 (no hashes)."""
        first, body = read_trace_file(path)
        try:
            header = json.loads(first)
        except (ValueError, RecursionError):
            raise BadTrace(f"{path} is not an mmstress trace (no JSON header)") from None
        if isinstance(header, dict):
            fmt = header.get("format")
            if _is_int(fmt, 0, LEGACY_FORMAT) and not (legacy and fmt == LEGACY_FORMAT):
                how = (" or, if you trust it and the files it names, replay it with --trust "
                       "(format 2 traces carry no hash of the scenario text and workload code, "
                       "so mmstress cannot check what they would run)"
                       if fmt == LEGACY_FORMAT else "")
                raise BadTrace(f"{path} was recorded by an older mmstress (trace format {fmt}); "
                               f"re-record it with `{rerecord_command(header, path)}` (this "
                               f"mmstress reads format {FORMAT}: since format 3 a trace carries "
                               f"its scenario text and workload hashes){how}")
            if fmt == STALE_FORMAT:
                raise BadTrace(f"{path} was recorded by an older mmstress (trace format {fmt}); "
                               f"re-record it with `{rerecord_command(header, path)}` (this "
                               f"mmstress reads format {FORMAT}: since format 4 a cpu_relax() "
                               f"busy-wait is a step of its own, so the schedules differ)")
            if _is_int(fmt, 0, 1000) and fmt not in (FORMAT, LEGACY_FORMAT):
                raise BadTrace(f"{path} has trace format {fmt}; this mmstress "
                               f"reads format {FORMAT}: re-record it with this version")
        header = check_header(header, path)
        if "steps" in header:
            raw = decompress_steps(body, header["steps"], path)
        else:                              # a format-2 header without a count: the hard cap
            d = zlib.decompressobj()
            try:
                raw = d.decompress(body, 2 * MAX_STEPS + 1)
            except zlib.error:
                raise BadTrace(f"{path}: the step data is damaged") from None
            if len(raw) > 2 * MAX_STEPS:
                raise BadTrace(f"{path}: the step data holds more steps than any trace")
        if raw and (max(raw[0::2]) >= header["cpus"] or max(raw[1::2]) >= len(YIELD_KINDS)):
            i = next(i for i in range(0, len(raw), 2)
                     if raw[i] >= header["cpus"] or raw[i + 1] >= len(YIELD_KINDS))
            raise BadTrace(f"{path}: step {i // 2 + 1:,} names CPU {raw[i]} at yield kind "
                           f"{raw[i + 1]}: the run had {header['cpus']} CPUs and "
                           f"{len(YIELD_KINDS)} kinds of step")
        return cls(header, steps_from_bytes(raw))

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
