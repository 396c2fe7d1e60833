"""The machine's side of "one bug, one report": violation records of all CPUs merged by key.

Each CPU sends a record the first time it sees a key (kind + normalised site,
``harness/checkers/record.py``) and, when it ends, the repeat counts and the
objects its sink kept for each key seen more than once.  Here records of one
key from several CPUs and contexts become one: ``count`` is the sum over
CPUs, ``seen`` lists each CPU and context with its own count, the objects
kept stay capped (``record.MAX_OBJECTS``, the rest counted in
``objects_dropped``).  The first record of a key (the earliest to arrive)
keeps its CPU, site, frames and facts; ``title`` is computed once, by the
text renderer, for JSON and JUnit consumers.

A record from older code without a ``key`` (a dict with ``text``) is keyed by
its kind and site.
"""

from harness.checkers.record import add_objects, key_text, normalise
from harness.outputs import text as render


def key_of(rec):
    return rec.get("key") or key_text((rec.get("kind", "violation"),
                                       normalise(rec.get("key_site") or rec.get("site") or "")))


def _find(violations, key):
    for v in violations:
        if key_of(v) == key:
            return v
    return None


def add(violations, rec):
    """A CPU's first report of a key: a new merged record, or one more CPU of an existing one."""
    rec = {k: v for k, v in rec.items() if k != "t"}
    rec.setdefault("count", 1)
    rec["key"] = key_of(rec)
    seen = {"cpu": rec.get("cpu"), "context": rec.get("context"), "count": rec["count"]}
    old = _find(violations, rec["key"])
    if old is None:
        rec["seen"] = [seen]
        rec["title"] = rec.get("title") or render.title(rec)
        violations.append(rec)
        return rec
    old["count"] = old.get("count", 1) + rec["count"]
    if rec["count"] or not any(x["cpu"] == seen["cpu"] and x["context"] == seen["context"]
                               for x in old.get("seen", [])):
        old.setdefault("seen", []).append(seen)
    if len(rec.get("tracks") or {}) > len(old.get("tracks") or {}):   # a record that knows more
        for k in ("site", "frames", "tracks", "text", "details"):       # lends the group its facts
            if k in rec:
                old[k] = rec[k]
        old["title"] = render.title(old)
    add_objects(old, rec.get("objects") or [], rec.get("objects_dropped", 0))
    return old


def add_repeats(violations, cpu, repeats):
    """A CPU's end-of-run counts: ``[{key: [kind, site], count, objects, objects_dropped}]``."""
    for r in repeats or []:
        if not isinstance(r, dict):
            continue
        key = key_text(tuple(r["key"]))
        v = _find(violations, key)
        if v is None:
            continue
        for s in v.get("seen", []):
            if s["cpu"] == cpu:
                extra = r["count"] - s["count"]
                s["count"] = r["count"]
                v["count"] = v.get("count", 1) + max(0, extra)
                break
        add_objects(v, r.get("objects") or [], r.get("objects_dropped", 0))


def as_record(v):
    """A violation dict as the JSON report carries it: always a key, a title, a site, a count
    (records the machine made itself, like a soft lockup, have only kind and text)."""
    out = dict(v)
    out["key"] = key_of(v)
    out.setdefault("site", "?")
    out.setdefault("count", 1)
    if not out.get("title"):
        out["title"] = render.title(out)
    return out
