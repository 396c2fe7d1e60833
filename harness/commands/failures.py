"""mmstress failures [list | replay [ID...] | clear [ID...]]: the saved failures.

A run that ends with a violation (exit 1) is saved in the failure database,
.mmstress/failures/ of the working directory: one JSON file per failing
run (scenario, seed, CPUs, iterations or duration, schedule and its options,
the violation, the trace when one was recorded).  mmstress run,
mmstress sweep and pytest --mmstress re-run the saved failures of the
scenarios they are given first; a saved failure that fails again is the
verdict (exit 1), one that passes --failures-keep times in a row (default 3)
is dropped.

    mmstress failures                 list: id, scenario, seed, kind, age, passes
    mmstress failures replay [ID...]  re-run them (all, or the ids given; a prefix will do)
    mmstress failures clear [ID...]   forget them (all, or the ids given)

Options every command with the database shares: --failures-dir DIR (or
$MMSTRESS_FAILURES_DIR; default .mmstress/failures), --no-failures (or
MMSTRESS_NO_FAILURES=1: neither save nor re-run), --failures-keep N.
A corrupt entry file is named and skipped; nothing in an entry is executed
(a re-run loads the scenario file the entry names, as mmstress run FILE would:
replay only databases you trust).

Exit codes: list and clear 0; replay like mmstress run (0 every entry
passed, 1 one fails again, 3 the harness failed; 130/143 interrupted);
2 bad usage or an unknown id.
"""

import calendar
import hashlib
import sys
import time

from harness.exits import EXIT_OK, EXIT_VIOLATIONS, UsageError

HELP = "list, re-run or clear the saved failures (.mmstress/failures/)"
EPILOG = None                # the docstring says the exit codes


def add_db_arguments(p):
    """The database options of ``run``, ``sweep`` and ``failures``."""
    from harness.outputs import failures as db
    p.add_argument("--failures-dir", metavar="DIR", help="the failure database (default "
                   f"${db.ENV_DIR} or {db.DEFAULT_DIR} of the working directory)")
    p.add_argument("--no-failures", action="store_true", help="neither re-run saved failures "
                   f"first nor save failing runs (also {db.ENV_OFF}=1)")
    p.add_argument("--failures-keep", type=int, default=db.DEFAULT_KEEP, metavar="N",
                   help="drop a saved failure after it passed N times in a row "
                   f"(default {db.DEFAULT_KEEP})")


def open_db(args):
    """The FailureDB of the parsed options, or None when it is off."""
    from harness.outputs import failures as db
    return db.open_db(args.failures_dir, args.no_failures, args.failures_keep)


def _age(stamp, now):
    try:
        then = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return "?"
    secs = max(0, int(now - then))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def _changed(entry):
    """Why the scenario file is not the one that failed, or "" if it is."""
    try:
        with open(entry["source"], encoding="utf-8", errors="replace") as f:
            now = hashlib.sha256(f.read().encode()).hexdigest()[:16]
    except OSError:
        return f"{entry['source']} is gone: the entry cannot be re-run"
    if now != entry["scenario_hash"]:
        return f"{entry['source']} changed since it failed"
    return ""


def _select(db, ids):
    """The entries of ``ids`` (prefixes), or all; UsageError for an id that matches none or many."""
    if not ids:
        return db.entries()
    out, problems = [], []
    for i in ids:
        found = db.find(i.lower())
        if not found:
            raise UsageError(f"no saved failure {i!r} in {db.path} (`mmstress failures` lists them)")
        if len(found) > 1:
            raise UsageError(f"{i!r} matches {len(found)} saved failures in {db.path}: give more "
                             "of the id")
        out += [e for e in found if e not in out]
    return out, problems


def main_list(db):
    entries, problems = db.entries()
    for p in problems:
        print(f"mmstress: skipping a corrupt saved failure: {p}", file=sys.stderr)
    if not entries:
        print(f"no saved failures in {db.path}")
        return EXIT_OK
    now = time.time()
    rows = [("ID", "SCENARIO", "SEED", "SCHED", "KIND", "AGE", "FAILED", "PASSES")]
    for e in entries:
        rows.append((e["id"][:8], e["scenario"], str(e["seed"]), e["sched"]["strategy"],
                     e["violation"]["kind"], _age(e["saved"], now), str(e["failures"]),
                     f"{e['passes']}/{db.keep}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"{len(entries)} saved failure{'s' if len(entries) != 1 else ''} in {db.path}; "
          "each is re-run first by the next run of its scenario (mmstress failures replay)")
    for e in entries:
        changed = _changed(e)
        print(f"  {e['id'][:8]}: {e['violation']['title']}"
              + (f"\n    ({changed})" if changed else "")
              + f"\n    reproduce: {e['reproduce']}"
              + (f"\n    trace: {db.trace_of(e)} (mmstress replay {db.trace_of(e)})"
                 if e.get("trace") else ""))
    return EXIT_OK


def main_replay(db, ids, quiet):
    from harness.tools import failures
    entries, problems = _select(db, ids)
    for p in problems:
        print(f"mmstress: skipping a corrupt saved failure: {p}", file=sys.stderr)
    if not entries:
        print(f"no saved failures in {db.path}")
        return EXIT_OK
    code, done = failures.rerun_entries(db, entries, quiet=quiet)
    again = sum(r.code == EXIT_VIOLATIONS for r in done)
    passed = sum(r.code == EXIT_OK for r in done)
    print(f"replayed {len(done)} saved failure{'s' if len(done) != 1 else ''}: {again} failed "
          f"again, {passed} passed")
    return code


def main_clear(db, ids):
    if not ids:
        n = db.clear()
        print(f"cleared {n} saved failure{'s' if n != 1 else ''} from {db.path}")
        return EXIT_OK
    entries, _ = _select(db, ids)
    for e in entries:
        db.delete(e["id"])
        print(f"cleared {e['id'][:8]} ({e['scenario']} seed {e['seed']})")
    return EXIT_OK


def main(args):
    db = open_db(args)
    if db is None:
        raise UsageError("the failure database is off (--no-failures or MMSTRESS_NO_FAILURES)")
    if args.action != "replay" and args.quiet:
        raise UsageError("--quiet: only for `mmstress failures replay`")
    if args.action == "list":
        if args.ids:
            raise UsageError("`mmstress failures list` takes no ids")
        return main_list(db)
    if args.action == "replay":
        return main_replay(db, args.ids, args.quiet)
    return main_clear(db, args.ids)


def arguments(p):
    p.add_argument("action", nargs="?", default="list", choices=("list", "replay", "clear"),
                   help="list (default), replay or clear")
    p.add_argument("ids", nargs="*", metavar="ID", help="entry ids (a unique prefix will do); "
                   "default: all")
    p.add_argument("--quiet", action="store_true", help="replay: no run summaries, the outcome "
                   "lines only")
    add_db_arguments(p)

