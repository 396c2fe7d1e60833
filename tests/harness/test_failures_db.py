"""The failure database's files (harness/outputs/failures.py): entries, validation, atomic writes.

No runs here: entries are built by hand as ``tools/failures.fields_of`` builds
them from a run.  The CLI's use of the database (saved failures re-run
first) is tests/e2e/test_failures.py.
"""

import json
import multiprocessing
import os
import re

import jsonschema
import pytest

from harness.exits import UsageError
from harness.outputs import failures, schemas


def fields(seed=0, source="/tmp/x/flaky.toml", **over):
    f = {"scenario": "flaky.toml", "source": source, "scenario_hash": "0123456789abcdef",
         "seed": seed, "cpus": 1, "limit": {"ops": 20}, "irq_mask": "lazy",
         "sched": {"strategy": "none"},
         "violation": {"key": "gfp-zone-bad @ flaky.toml:13", "kind": "gfp-zone-bad",
                       "title": "WARNING: GFP_ZONE_BAD", "site": "flaky.toml:13"},
         "reproduce": f"mmstress run {source} --seed {seed} --cpus 1 --ops 20"}
    f["id"] = failures.identity(f["source"], seed, f["cpus"], f["limit"], f["irq_mask"], f["sched"])
    f.update(over)
    return f


def test_a_failed_run_is_one_file_named_by_its_identity_and_valid_against_the_schema(tmp_path):
    db = failures.FailureDB(str(tmp_path / "db"))
    assert db.entries() == ([], [])                       # nothing there yet, not an error
    e = db.failed(fields())
    assert os.listdir(db.path) == [f"{e['id']}.json"]
    on_disk = json.loads((tmp_path / "db" / f"{e['id']}.json").read_text())
    assert on_disk == e and e["kind"] == "failure" and e["schema_version"] == schemas.SCHEMA_VERSION
    assert e["failures"] == 1 and e["passes"] == 0 and e["trace"] is None
    schemas.validator("failure").validate(on_disk)
    again = db.failed(fields())                            # the same run failing again: same file
    assert os.listdir(db.path) == [f"{e['id']}.json"]
    assert again["failures"] == 2 and again["saved"] == e["saved"]
    other = db.failed(fields(seed=1))
    assert other["id"] != e["id"] and len(db.entries()[0]) == 2


def test_identity_is_what_makes_the_run_the_same_run():
    base = fields()
    assert failures.identity("/tmp/x/flaky.toml", 0, 1, {"ops": 20}, "lazy", {"strategy": "none"}) \
        == base["id"]
    for changed in (("/tmp/x/other.toml", 0, 1, {"ops": 20}, "lazy", {"strategy": "none"}),
                    ("/tmp/x/flaky.toml", 1, 1, {"ops": 20}, "lazy", {"strategy": "none"}),
                    ("/tmp/x/flaky.toml", 0, 2, {"ops": 20}, "lazy", {"strategy": "none"}),
                    ("/tmp/x/flaky.toml", 0, 1, {"ops": 21}, "lazy", {"strategy": "none"}),
                    ("/tmp/x/flaky.toml", 0, 1, {"ops": 20}, "sigmask", {"strategy": "none"}),
                    ("/tmp/x/flaky.toml", 0, 1, {"ops": 20}, "lazy", {"strategy": "pct", "depth": 3})):
        assert failures.identity(*changed) != base["id"], changed


def test_passes_in_a_row_drop_an_entry_at_keep_and_a_failure_resets_them(tmp_path):
    db = failures.FailureDB(str(tmp_path), keep=3)
    e = db.failed(fields())
    assert db.passed(e["id"])[0]["passes"] == 1
    assert db.passed(e["id"])[0]["passes"] == 2
    db.failed(fields())                                   # failed again: back to 0 in a row
    assert db.get(e["id"])["passes"] == 0
    for n in (1, 2):
        entry, dropped = db.passed(e["id"])
        assert (entry["passes"], dropped) == (n, False)
    entry, dropped = db.passed(e["id"])
    assert dropped and entry["passes"] == 3
    assert db.get(e["id"]) is None and os.listdir(tmp_path) == []
    assert db.passed(e["id"]) == (None, False)            # no entry: nothing to count


def test_a_run_that_never_failed_leaves_no_directory(tmp_path):
    db = failures.FailureDB(str(tmp_path / ".mmstress" / "failures"))
    assert db.passed(fields()["id"]) == (None, False)
    assert not (tmp_path / ".mmstress").exists()


def test_a_trace_is_copied_beside_its_entry_and_goes_with_it(tmp_path):
    src = tmp_path / "run.mmtrace"
    src.write_bytes(b"trace bytes")
    db = failures.FailureDB(str(tmp_path / "db"))
    e = db.failed(fields(), trace_src=str(src))
    assert e["trace"] == f"{e['id']}.mmtrace"
    assert open(db.trace_of(e), "rb").read() == b"trace bytes"
    assert db.failed(fields())["trace"] == e["trace"]    # a re-failure without a trace keeps it
    db.delete(e["id"])
    assert os.listdir(db.path) == []
    db.delete(e["id"])                                     # deleting a missing entry: no error


CORRUPT = {
    "not JSON": (b'{"kind": "failure", ', "not JSON"),
    "not an object": (b"[1, 2]", "JSON object"),
    "missing field": (None, "missing field 'seed'"),
    "wrong type": (None, "field 'seed' is \"0\""),
    "bad source": (None, "field 'source'"),
    "unknown strategy": (None, "field 'sched'"),
    "unknown field": (None, "unknown field 'exec'"),
    "wrong file name": (None, "is not its file name"),
    "binary": (b"\xff\xfe\x00garbage", "not JSON"),
    "terminal escape": (None, "field 'violation.title' holds control characters"),
}


def _corrupt(entry, case):
    bad = dict(entry)
    if case == "missing field":
        del bad["seed"]
    elif case == "wrong type":
        bad["seed"] = "0"
    elif case == "bad source":
        bad["source"] = "relative/path.toml"
    elif case == "unknown strategy":
        bad["sched"] = {"strategy": "os.system('rm -rf /')"}
    elif case == "unknown field":
        bad["exec"] = "import os"
    elif case == "wrong file name":
        bad["id"] = "f" * 16
    elif case == "terminal escape":
        bad["violation"] = dict(bad["violation"], title="\x1b]0;pwned\x07BUG")
    return bad


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_a_corrupt_entry_is_named_and_skipped_and_fails_the_schema_too(tmp_path, case):
    db = failures.FailureDB(str(tmp_path))
    good = db.failed(fields(seed=1))
    e = dict(good, id=fields(seed=2)["id"], seed=2)
    data, message = CORRUPT[case]
    bad_path = tmp_path / f"{e['id']}.json"
    if data is None:
        doc = _corrupt(e, case)
        bad_path.write_text(json.dumps(doc))
        if case not in ("wrong file name", "terminal escape"):   # what the schema cannot see
            with pytest.raises(jsonschema.ValidationError):
                schemas.validator("failure").validate(doc)
    else:
        bad_path.write_bytes(data)
    entries, problems = db.entries()
    assert [x["id"] for x in entries] == [good["id"]]      # the good one is still there
    assert len(problems) == 1 and str(bad_path) in problems[0] and message in problems[0], problems
    with pytest.raises(failures.EntryError):
        db.get(e["id"])


def test_an_oversized_file_is_not_read(tmp_path):
    db = failures.FailureDB(str(tmp_path))
    (tmp_path / f"{'a' * 16}.json").write_bytes(b" " * (failures.MAX_ENTRY_BYTES + 10))
    entries, problems = db.entries()
    assert entries == [] and "larger than" in problems[0]


def _writer(path, worker, rounds):
    db = failures.FailureDB(path, keep=1000)
    for i in range(rounds):
        db.failed(fields(seed=i % 4))                     # every writer hits the same four entries
        db.failed(fields(seed=100 + worker))              # and one of its own
        db.passed(fields(seed=(i + worker) % 4)["id"])


def _reader(path, stop):
    """Reads the database until told to stop; exit 1 if it ever saw a file that was not whole."""
    db = failures.FailureDB(path)
    while not stop.is_set():
        if db.entries()[1]:
            os._exit(1)
    os._exit(0)


def test_parallel_writers_never_leave_a_corrupt_or_half_written_file(tmp_path):
    """Four processes (as a sweep's runners or xdist workers) read-modify-write the same
    entries at once while a fifth reads them: the reader never sees a half-written file,
    every file stays a whole, valid entry (the last writer wins), no temporary file is left."""
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    reader = ctx.Process(target=_reader, args=(str(tmp_path), stop))
    reader.start()
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, 25)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    stop.set()
    reader.join(60)
    assert reader.exitcode == 0, "a reader saw a half-written entry"
    entries, problems = failures.FailureDB(str(tmp_path)).entries()
    assert problems == []
    assert sorted(e["seed"] for e in entries) == [0, 1, 2, 3, 100, 101, 102, 103]
    assert sorted(os.listdir(tmp_path)) == sorted(f"{e['id']}.json" for e in entries)
    validator = schemas.validator("failure")
    for e in entries:
        validator.validate(e)


def test_clear_removes_entries_traces_and_corrupt_files(tmp_path):
    db = failures.FailureDB(str(tmp_path))
    db.failed(fields(seed=1))
    db.failed(fields(seed=2))
    (tmp_path / f"{'b' * 16}.json").write_text("{")
    (tmp_path / f"{'b' * 16}.mmtrace").write_text("x")
    assert db.clear() == 3
    assert os.listdir(tmp_path) == []
    assert failures.FailureDB(str(tmp_path / "none")).clear() == 0


def test_open_db_flags_and_environment(tmp_path):
    assert failures.open_db(env={}).path == os.path.join(".mmstress", "failures")
    assert failures.open_db(env={failures.ENV_DIR: str(tmp_path)}).path == str(tmp_path)
    assert failures.open_db(str(tmp_path / "flag"), env={failures.ENV_DIR: "x"}).path \
        == str(tmp_path / "flag")
    assert failures.open_db(off=True, env={}) is None
    assert failures.open_db(env={failures.ENV_OFF: "1"}) is None
    assert failures.open_db(env={failures.ENV_OFF: "0"}) is not None
    assert failures.open_db(keep=5, env={}).keep == 5
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(UsageError, match="--failures-dir .*afile: exists and is not a directory"):
        failures.open_db(str(afile), env={})
    with pytest.raises(UsageError, match=r"\$MMSTRESS_FAILURES_DIR"):
        failures.open_db(env={failures.ENV_DIR: str(afile)})
    with pytest.raises(UsageError, match="--failures-keep 0"):
        failures.open_db(keep=0, env={})


# --- an entry back into a run (tools/failures.plan): options from disk are checked as flags ------
DOUBLE_FREE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scenarios", "bugs", "double_free.toml")


@pytest.mark.parametrize("sched, why", [
    ({"strategy": "pct", "depth": -5}, "an integer >= 1"),
    ({"strategy": "pct", "depth": "x"}, "invalid literal"),
    ({"strategy": "random", "switch_prob": 7}, "a probability in [0, 1]"),
    ({"strategy": "dfs", "schedule": "zz"}, "field 'sched'"),
    ({"strategy": "pct", "bogus": 1}, "no scheduling option 'bogus'"),
    ({"strategy": "replay"}, "strategy 'replay'"),
    ({"strategy": "none", "irq_rate": 5}, "irq_rate 5"),
    ({"strategy": "free", "trace_steps": [[0, 0]]}, "trace_steps"),
])
def test_an_entry_whose_schedule_no_flag_would_accept_is_refused_and_not_run(tmp_path, sched, why):
    from harness.exits import EXIT_USAGE
    from harness.tools import failures as saved
    db = failures.FailureDB(str(tmp_path))
    entry = db.failed(fields(source=DOUBLE_FREE))
    entry["sched"] = sched               # as if edited on disk (put itself refuses some of these)
    with pytest.raises(failures.EntryError, match=re.escape(why)):
        saved.plan(entry)
    r = saved.rerun(db, entry)                            # reported, never a traceback or a run
    assert r.code == EXIT_USAGE and r.result is None and why.split()[0] in r.why
    assert "cannot be re-run" in saved.outcome_line(r, db.keep)


def test_a_good_entry_plans_the_saved_run():
    from harness.tools import failures as saved
    sched = {"strategy": "pct", "irq_rate": 0.0, "depth": 2, "steps": 1000}
    entry = dict(fields(source=DOUBLE_FREE, sched=sched, cpus=2, limit={"ops": 7}), seed=3)
    sc, opts = saved.plan(entry)
    assert (sc.cpus, sc.ops, sc.duration) == (2, 7, None)
    assert opts.header() == sched
    assert saved.identity_of(sc, 3, "lazy", opts) == failures.identity(
        DOUBLE_FREE, 3, 2, {"ops": 7}, "lazy", sched)
