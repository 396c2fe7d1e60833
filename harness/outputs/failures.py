"""The failure database: one JSON file per failing run, so the next run re-runs it first.

What Hypothesis's example database (``DirectoryBasedExampleDatabase``) does
for a test function, this does for a scenario: a run that ends with a
violation (exit 1) is saved under ``.mmstress/failures/`` of the working
directory, and ``mmstress run``/``sweep``/``pytest --mmstress`` re-run the
saved failures of the scenarios they are given before anything new
(``harness/tools/failures.py``).  The parts of Hypothesis kept here:

- a directory of small files, one per entry, named by a hash of what makes
  the run the same run, so saving the same failure twice is one file;
- a write is a temporary file with a random suffix, then ``os.replace``:
  readers never see half a file, and parallel writers (a sweep's runners,
  pytest-xdist workers) never corrupt one -- the last writer wins whole;
- deleting a missing entry, or reading a directory that does not exist, is
  not an error;
- an entry that no longer fails is dropped -- here after ``keep`` passes in a
  row (default 3), not after one, because a ``--sched none``/``free`` re-run
  of the same seed is another interleaving (Hypothesis drops at the first
  pass because its replay is exact).

Layout::

    .mmstress/failures/
        3f2a9c0d1e2b4a5c.json       an entry (below)
        3f2a9c0d1e2b4a5c.mmtrace    its trace, when the run recorded one (--sched free/...)

An entry (``schemas/failure.schema.json``, ``kind`` "failure")::

    {kind: "failure", schema_version, tool, version,
     id,                       16 hex digits: sha256 of the identity below
     scenario,                 as the user named it (bugs/double_free, ./ring.toml)
     source,                   the resolved scenario file (absolute)
     scenario_hash,            sha256[:16] of the file's text when it failed
     seed, cpus, limit: {ops} | {duration}, irq_mask,
     sched: {strategy, irq_rate, [sched_seed], strategy options...},   (SchedOptions.header)
     violation: {key, kind, title, site},      the first problem of the run
     trace,                    file name of the copied trace in this directory, or null
     reproduce,                the command that redoes the run
     saved, last_failed, last_run   (UTC, ISO 8601)
     failures,                 times it failed (the first save is 1)
     passes}                   passes in a row since it last failed

identity = (source, seed, cpus, limit, irq_mask, sched): the same identity
is the same run (a serialised schedule bit for bit; an unscheduled one the
same op streams).

The files are data read from disk, maybe written by another version or
edited by hand: ``check_entry`` validates every field before anything uses
it (nothing in an entry is ever executed or imported; the scenario it names
is loaded like any scenario argument), and a file that does not validate is
reported with its path and skipped -- never a traceback.
"""

import hashlib
import json
import os
import re
import shutil
import time

from harness.exits import UsageError
from harness.outputs import schemas

KIND = "failure"
SCHEMA_VERSION = schemas.SCHEMA_VERSION
DEFAULT_DIR = os.path.join(".mmstress", "failures")
DEFAULT_KEEP = 3               # passes in a row before an entry is dropped
ENV_DIR = "MMSTRESS_FAILURES_DIR"
ENV_OFF = "MMSTRESS_NO_FAILURES"
MAX_ENTRY_BYTES = 1 << 20      # a bigger file is not an entry (read nothing larger)
_ID = re.compile(r"[0-9a-f]{16}")


class EntryError(ValueError):
    """A file of the database that is not a valid entry; the message names the file and the field."""


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def identity(source, seed, cpus, limit, irq_mask, sched):
    """The entry id of a run: 16 hex digits of sha256 over what makes it the same run."""
    ident = {"source": os.path.realpath(source), "seed": seed, "cpus": cpus, "limit": limit,
             "irq_mask": irq_mask, "sched": sched}
    text = json.dumps(ident, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- validation ---------------------------------------------------------------------------------
def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_FIELDS = {             # field -> (check, what is allowed); mirrors schemas/failure.schema.json
    "kind": (lambda x: x == KIND, f'"{KIND}"'),
    "schema_version": (lambda x: x == SCHEMA_VERSION, str(SCHEMA_VERSION)),
    "tool": (lambda x: x == "mmstress", '"mmstress"'),
    "version": (lambda x: isinstance(x, str), "a string"),
    "id": (lambda x: isinstance(x, str) and _ID.fullmatch(x) is not None, "16 hex digits"),
    "scenario": (lambda x: isinstance(x, str) and 0 < len(x) <= 4096, "a scenario name or path"),
    "source": (lambda x: isinstance(x, str) and os.path.isabs(x) and len(x) <= 4096,
               "an absolute path"),
    "scenario_hash": (lambda x: isinstance(x, str) and len(x) <= 64, "a hex digest"),
    "seed": (lambda x: _is_int(x) and 0 <= x < 2**63, "an integer >= 0"),
    "cpus": (lambda x: _is_int(x) and 1 <= x <= 64, "1 to 64"),
    "limit": (lambda x: isinstance(x, dict) and len(x) == 1 and (
        (_is_int(x.get("ops")) and x["ops"] >= 1)
        or (_is_num(x.get("duration")) and x["duration"] > 0)),
        '{"ops": N >= 1} or {"duration": seconds > 0}'),
    "irq_mask": (lambda x: x in ("lazy", "sigmask"), '"lazy" or "sigmask"'),
    "sched": (lambda x: isinstance(x, dict)
              and x.get("strategy") in ("none", "free", "random", "pct", "pos", "dfs")
              and _is_num(x.get("irq_rate", 0.0)) and x.get("irq_rate", 0.0) >= 0
              and (_is_int(x.get("sched_seed", 0)) and x.get("sched_seed", 0) >= 0),
              "{strategy: none|free|random|pct|pos|dfs, irq_rate >= 0, sched_seed >= 0, options}"),
    "violation": (lambda x: isinstance(x, dict) and all(isinstance(x.get(k), str)
                                                        for k in ("key", "kind", "title", "site")),
                  "{key, kind, title, site} strings"),
    "trace": (lambda x: x is None or (isinstance(x, str) and re.fullmatch(r"[0-9a-f]{16}\.mmtrace", x)
                                      is not None), "null or ID.mmtrace"),
    "reproduce": (lambda x: isinstance(x, str) and x.startswith("mmstress "), '"mmstress ..."'),
    "saved": (lambda x: isinstance(x, str) and _ISO.fullmatch(x) is not None, "a UTC time"),
    "last_failed": (lambda x: isinstance(x, str) and _ISO.fullmatch(x) is not None, "a UTC time"),
    "last_run": (lambda x: isinstance(x, str) and _ISO.fullmatch(x) is not None, "a UTC time"),
    "failures": (lambda x: _is_int(x) and x >= 1, "an integer >= 1"),
    "passes": (lambda x: _is_int(x) and x >= 0, "an integer >= 0"),
}


def check_entry(doc, where):
    """``doc`` if it is a valid entry, else EntryError naming ``where`` and the first bad field."""
    if not isinstance(doc, dict):
        raise EntryError(f"{where}: not a failure entry (a JSON object is expected)")
    for name, (ok, allowed) in _FIELDS.items():
        if name not in doc:
            raise EntryError(f"{where}: missing field {name!r}")
        try:
            good = ok(doc[name])
        except (TypeError, ValueError):
            good = False
        if not good:
            raise EntryError(f"{where}: field {name!r} is {_short(doc[name])}; allowed: {allowed}")
    extra = sorted(set(doc) - set(_FIELDS))
    if extra:
        raise EntryError(f"{where}: unknown field {extra[0]!r}")
    for name, text in _strings(doc):
        if _CONTROL.search(text):
            raise EntryError(f"{where}: field {name!r} holds control characters (an entry's text "
                             "is printed to the terminal)")
    if os.path.splitext(os.path.basename(where))[0] != doc["id"]:
        raise EntryError(f"{where}: its id {doc['id']} is not its file name")
    return doc


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _strings(value, name=""):
    """(field path, text) of every string in an entry, keys included."""
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k, name)
            yield from _strings(v, f"{name}.{k}" if name else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{name}[{i}]")


def printable(text):
    """``text`` with control characters (newlines, escapes) replaced by "?", for an entry."""
    return _CONTROL.sub("?", text)


def _short(value):
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


# --- the directory --------------------------------------------------------------------------------
class FailureDB:
    """The entries under ``path``; see the module docstring.  Nothing is created until a save."""

    def __init__(self, path, keep=DEFAULT_KEEP):
        self.path = path
        self.keep = keep

    def __repr__(self):
        return f"FailureDB({self.path!r}, keep={self.keep})"

    def file_of(self, entry_id):
        return os.path.join(self.path, f"{entry_id}.json")

    def trace_of(self, entry):
        return os.path.join(self.path, entry["trace"]) if entry.get("trace") else None

    def display(self, entry_id):
        """The entry's file as printed: relative to the working directory when below it."""
        path = self.file_of(entry_id)
        rel = os.path.relpath(path)
        return path if rel.startswith("..") else rel

    def entries(self):
        """([valid entry], [problem text]) of every ``*.json`` file, sorted by scenario, seed, id."""
        try:
            names = sorted(n for n in os.listdir(self.path) if n.endswith(".json"))
        except FileNotFoundError:
            return [], []
        except OSError as exc:
            return [], [f"{self.path}: cannot read the failure database: {exc.strerror}"]
        good, bad = [], []
        for name in names:
            try:
                good.append(self.read(os.path.join(self.path, name)))
            except EntryError as exc:
                bad.append(str(exc))
            except FileNotFoundError:
                continue                      # dropped by another process meanwhile
        good.sort(key=lambda e: (e["scenario"], e["seed"], e["id"]))
        return good, bad

    def read(self, path):
        """The validated entry in ``path``; EntryError if it is not one (FileNotFoundError if gone)."""
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_ENTRY_BYTES + 1)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise EntryError(f"{path}: cannot read: {exc.strerror}") from None
        if len(data) > MAX_ENTRY_BYTES:
            raise EntryError(f"{path}: larger than {MAX_ENTRY_BYTES} bytes: not a failure entry")
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise EntryError(f"{path}: not JSON ({exc})") from None
        return check_entry(doc, path)

    def get(self, entry_id):
        """The entry ``entry_id``, or None if there is none; EntryError if its file is corrupt."""
        try:
            return self.read(self.file_of(entry_id))
        except FileNotFoundError:
            return None

    def find(self, prefix):
        """Entries whose id starts with ``prefix`` (as ``git`` takes an abbreviated hash)."""
        return [e for e in self.entries()[0] if e["id"].startswith(prefix)]

    def put(self, entry, trace_src=None):
        """Write ``entry`` (and copy ``trace_src`` beside it) atomically: tmp file + rename."""
        check_entry(entry, self.file_of(entry["id"]))
        os.makedirs(self.path, exist_ok=True)
        if trace_src:
            _atomic_copy(trace_src, os.path.join(self.path, entry["trace"]))
        data = (json.dumps(entry, indent=1, sort_keys=True) + "\n").encode()
        _atomic_write(self.file_of(entry["id"]), data)

    def delete(self, entry_id):
        """Remove an entry and its trace; a missing one is not an error."""
        for path in (self.file_of(entry_id), os.path.join(self.path, f"{entry_id}.mmtrace")):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def clear(self):
        """Remove every entry (valid or not) and trace; returns how many entry files went."""
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return 0
        gone = 0
        for name in names:
            if name.endswith((".json", ".mmtrace", ".mmtrace.new")) or ".tmp-" in name:
                try:
                    os.unlink(os.path.join(self.path, name))
                    gone += name.endswith(".json")
                except FileNotFoundError:
                    pass
        return gone

    # -- what a finished run does to the database -----------------------------------------------
    def failed(self, fields, trace_src=None):
        """A run with this identity failed: save it, or count one more failure and reset its passes.

        ``fields``: the entry without the bookkeeping (id, scenario, source, ..., reproduce).
        Returns the entry written.
        """
        stamp = now_iso()
        try:
            old = self.get(fields["id"])
        except EntryError:
            old = None                                   # a corrupt file of this id: replaced
        entry = {**schemas.header(KIND), **fields,
                 "trace": f"{fields['id']}.mmtrace" if trace_src else (old or {}).get("trace"),
                 "saved": old["saved"] if old else stamp, "last_failed": stamp, "last_run": stamp,
                 "failures": (old["failures"] + 1) if old else 1, "passes": 0}
        if entry["trace"] and not trace_src and not os.path.exists(self.trace_of(entry)):
            entry["trace"] = None
        self.put(entry, trace_src)
        return entry

    def passed(self, entry_id):
        """A run with this identity passed: (entry, dropped).  The entry's passes in a row go up
        by one; at ``keep`` it is dropped.  (None, False) when there is no such entry."""
        try:
            old = self.get(entry_id)
        except EntryError:
            return None, False
        if old is None:
            return None, False
        entry = dict(old, passes=old["passes"] + 1, last_run=now_iso())
        if entry["passes"] >= self.keep:
            self.delete(entry_id)
            return entry, True
        self.put(entry)
        return entry, False


def _atomic_write(path, data):
    tmp = f"{path}.tmp-{os.urandom(8).hex()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _atomic_copy(src, path):
    tmp = f"{path}.tmp-{os.urandom(8).hex()}"
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def open_db(directory=None, off=False, keep=DEFAULT_KEEP, env=None):
    """The database a command uses, or None when it is off.

    ``directory`` (``--failures-dir``) wins over ``$MMSTRESS_FAILURES_DIR``, which wins
    over ``.mmstress/failures`` of the working directory; ``off`` (``--no-failures``)
    or ``$MMSTRESS_NO_FAILURES`` set to anything but "" or "0" turns it off.  A path
    that exists and is not a directory is a UsageError naming where it came from.
    """
    env = os.environ if env is None else env
    if off or env.get(ENV_OFF, "") not in ("", "0"):
        return None
    if keep < 1:
        raise UsageError(f"--failures-keep {keep}: allowed: an integer >= 1 (passes in a row "
                         "before a saved failure is dropped)")
    where = "--failures-dir"
    if directory is None and env.get(ENV_DIR):
        directory, where = env[ENV_DIR], f"${ENV_DIR}"
    if directory is None:
        directory, where = DEFAULT_DIR, None
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise UsageError(f"{where or 'the failure database'} {directory}: exists and is not a "
                         "directory")
    return FailureDB(directory, keep)
