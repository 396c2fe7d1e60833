"""The failure database from the command line: saved failures re-run first, dropped after N passes.

Every test runs ``python -m harness`` (or pytest) as a subprocess with its
working directory in tmp_path, where the database (``.mmstress/failures/``)
appears, and with ``MMSTRESS_NO_FAILURES`` removed from the environment (the
suite turns the database off everywhere else: tests/conftest.py).  The
scenario that fails is ``flaky.toml``: an alloc_pages(__GFP_DMA|__GFP_HIGHMEM)
on every iteration (GFP_ZONE_BAD, one CPU, 20 iterations); "fixing" it
rewrites the same file with one zone modifier.
"""

import glob
import json
import os
import re
import subprocess
import sys

import pytest

from harness.outputs import schemas

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FLAKY = """description = "test: two zone modifiers (GFP_ZONE_BAD) on every iteration"
cpus = 1
ops = 20

[memory]
size = "32M"

[interrupts]
rate = 0

[process]
ops = [ { op = "alloc_pages", order = 0, gfp = "GFP_KERNEL|__GFP_DMA|__GFP_HIGHMEM" } ]
"""
FIXED = FLAKY.replace("GFP_KERNEL|__GFP_DMA|__GFP_HIGHMEM", "GFP_KERNEL|__GFP_DMA")


def env_on(**extra):
    env = dict(os.environ, PYTHONPATH=ROOT)
    for k in ("MMSTRESS_NO_FAILURES", "MMSTRESS_FAILURES_DIR", "PYTEST_ADDOPTS",
              "PYTEST_XDIST_WORKER"):
        env.pop(k, None)
    env.update(extra)
    return env


def mm(cwd, *args, env=None, timeout=120):
    r = subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=env or env_on(),
                       capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def entries(cwd, folder=".mmstress/failures"):
    return {json.load(open(p))["seed"]: json.load(open(p))
            for p in glob.glob(os.path.join(cwd, folder, "*.json"))}


@pytest.fixture
def flaky(tmp_path):
    (tmp_path / "flaky.toml").write_text(FLAKY)
    return tmp_path


def test_a_failing_run_is_saved_and_the_next_run_redoes_it_first_and_says_so(tmp_path):
    """The issue's must-show: `mmstress run bugs/double_free --seed 0`, then
    `mmstress run bugs/double_free` re-runs seed 0 first, says so, and the failure
    that comes back is the verdict."""
    first = mm(tmp_path, "run", "bugs/double_free", "--seed", "0", "--quiet")
    assert first.returncode == 1, first.stderr
    saved = entries(tmp_path)
    assert list(saved) == [0]
    e = saved[0]
    assert (e["scenario"], e["violation"]["kind"], e["sched"]["strategy"]) == \
        ("bugs/double_free", "double-free", "none")
    assert e["source"] == os.path.join(ROOT, "scenarios", "bugs", "double_free.toml")
    schemas.validator("failure").validate(e)

    second = mm(tmp_path, "run", "bugs/double_free", "--json", "again.json")
    assert second.returncode == 1
    doc = json.loads((tmp_path / "again.json").read_text())    # the report is the re-run's
    schemas.validate(doc)
    assert [(r["seed"], r["status"]) for r in doc["runs"]] == [(0, "violations")]
    where = os.path.join(".mmstress", "failures", f"{e['id']}.json")
    assert f"re-running 1 saved failure of bugs/double_free first (seed 0, {where})" in second.stderr
    assert f"saved failure {e['id'][:8]} (bugs/double_free seed 0): fails again: BUG: KASAN: " \
           "double-free in kfree" in second.stderr
    assert "that is this run's verdict (exit 1)" in second.stderr
    assert "mmstress: seed" not in second.stderr          # the run asked for was not started
    assert "BUG: KASAN: double-free in kfree" in second.stdout   # the splat of the re-run
    assert entries(tmp_path)[0]["failures"] == 2

    listed = mm(tmp_path, "failures")
    assert listed.returncode == 0
    row = next(line for line in listed.stdout.splitlines() if line.startswith(e["id"][:8]))
    assert row.split() == [e["id"][:8], "bugs/double_free", "0", "none", "double-free",
                           row.split()[5], "2", "0/3"]


def test_three_passes_in_a_row_drop_a_saved_failure(flaky):
    assert mm(flaky, "run", "flaky.toml", "--seed", "0", "--quiet").returncode == 1
    (e,) = entries(flaky).values()
    flaky.joinpath("flaky.toml").write_text(FIXED)      # the bug is fixed

    same = mm(flaky, "run", "flaky.toml", "--seed", "0", "--quiet")   # the saved run itself:
    assert same.returncode == 0 and "re-running" not in same.stderr    # not doubled, it counts
    assert entries(flaky)[0]["passes"] == 1

    second = mm(flaky, "run", "flaky.toml", "--seed", "1", "--quiet")
    assert second.returncode == 0
    assert "re-running 1 saved failure of flaky.toml first (seed 0" in second.stderr
    assert f"saved failure {e['id'][:8]} (flaky.toml seed 0): passed (2 of 3 passes in a row " \
           "before it is dropped)" in second.stderr
    assert "mmstress: seed 1" in second.stderr            # then the run asked for
    third = mm(flaky, "run", "flaky.toml", "--seed", "1", "--quiet")
    assert third.returncode == 0
    assert "passed 3 times in a row: dropped from the database" in third.stderr
    assert entries(flaky) == {}
    fourth = mm(flaky, "run", "flaky.toml", "--seed", "1", "--quiet")
    assert fourth.returncode == 0 and "re-running" not in fourth.stderr


def test_failures_keep_sets_the_passes_and_a_new_failure_resets_them(flaky):
    assert mm(flaky, "run", "flaky.toml", "--seed", "0", "--quiet").returncode == 1
    flaky.joinpath("flaky.toml").write_text(FIXED)
    r = mm(flaky, "run", "flaky.toml", "--seed", "1", "--quiet", "--failures-keep", "1")
    assert r.returncode == 0 and "passed 1 time in a row: dropped" in r.stderr
    assert entries(flaky) == {}


def test_no_failures_neither_saves_nor_reruns(flaky):
    r = mm(flaky, "run", "flaky.toml", "--seed", "0", "--quiet", "--no-failures")
    assert r.returncode == 1 and not (flaky / ".mmstress").exists()
    r = mm(flaky, "run", "flaky.toml", "--seed", "0", "--quiet",
           env=env_on(MMSTRESS_NO_FAILURES="1"))
    assert r.returncode == 1 and not (flaky / ".mmstress").exists()
    assert mm(flaky, "run", "flaky.toml", "--seed", "0", "--quiet").returncode == 1
    r = mm(flaky, "run", "flaky.toml", "--seed", "1", "--quiet", "--no-failures")
    assert r.returncode == 1 and "re-running" not in r.stderr and "mmstress: seed 1" in r.stderr
    assert list(entries(flaky)) == [0]                   # the database was left alone


def test_a_clean_run_writes_nothing(flaky):
    flaky.joinpath("flaky.toml").write_text(FIXED)
    r = mm(flaky, "run", "flaky.toml", "--seed", "0", "--quiet")
    assert r.returncode == 0 and "re-running" not in r.stderr
    assert sorted(os.listdir(flaky)) == ["flaky.toml"]


def test_failures_dir_and_its_environment_variable(flaky):
    r = mm(flaky, "run", "flaky.toml", "--seed", "0", "--quiet", "--failures-dir", "db")
    assert r.returncode == 1 and list(entries(flaky, "db")) == [0]
    r = mm(flaky, "run", "flaky.toml", "--seed", "1", "--quiet", env=env_on(MMSTRESS_FAILURES_DIR="db"))
    assert r.returncode == 1 and "re-running 1 saved failure of flaky.toml first (seed 0" in r.stderr
    assert not (flaky / ".mmstress").exists()
    flaky.joinpath("afile").write_text("")
    r = mm(flaky, "run", "flaky.toml", "--failures-dir", "afile")
    assert r.returncode == 2 and "--failures-dir afile: exists and is not a directory" in r.stderr


def test_a_corrupt_entry_is_reported_and_skipped_never_run(flaky):
    db = flaky / ".mmstress" / "failures"
    db.mkdir(parents=True)
    (db / "0123456789abcdef.json").write_text('{"kind": "failure", "seed": ')
    evil = {"kind": "failure", "schema_version": 3, "id": "fedcba9876543210",
            "source": str(flaky / "flaky.toml"), "sched": {"strategy": "__import__('os')"}}
    (db / "fedcba9876543210.json").write_text(json.dumps(evil))
    flaky.joinpath("flaky.toml").write_text(FIXED)
    r = mm(flaky, "run", "flaky.toml", "--seed", "0", "--quiet")
    assert r.returncode == 0
    assert re.search(r"skipping a corrupt saved failure: \.mmstress/failures/0123456789abcdef\.json: "
                     r"not JSON", r.stderr), r.stderr
    assert "skipping a corrupt saved failure: .mmstress/failures/fedcba9876543210.json: missing " \
           "field" in r.stderr
    assert "re-running" not in r.stderr
    listed = mm(flaky, "failures")
    assert listed.returncode == 0 and "no saved failures" in listed.stdout
    assert listed.stderr.count("skipping a corrupt saved failure") == 2
    cleared = mm(flaky, "failures", "clear")
    assert cleared.returncode == 0 and os.listdir(db) == []


def test_failures_replay_and_clear_by_id(flaky):
    assert mm(flaky, "sweep", "flaky.toml", "--seeds", "0-1", "-j", "1", "--quiet").returncode == 1
    saved = entries(flaky)
    r = mm(flaky, "failures", "replay", saved[1]["id"][:6], "--quiet")
    assert r.returncode == 1 and "replayed 1 saved failure: 1 failed again, 0 passed" in r.stdout
    assert entries(flaky)[1]["failures"] == 2 and entries(flaky)[0]["failures"] == 1
    flaky.joinpath("flaky.toml").write_text(FIXED)
    assert f"{flaky / 'flaky.toml'} changed since it failed" in mm(flaky, "failures").stdout
    r = mm(flaky, "failures", "replay", "--quiet")
    assert r.returncode == 0 and "replayed 2 saved failures: 0 failed again, 2 passed" in r.stdout
    assert mm(flaky, "failures", "replay", "ffff").returncode == 2
    r = mm(flaky, "failures", "clear", saved[0]["id"][:8])
    assert r.returncode == 0 and list(entries(flaky)) == [1]
    assert mm(flaky, "failures", "list", "x").returncode == 2
    assert mm(flaky, "failures", "--no-failures").returncode == 2


def test_a_free_run_keeps_its_trace_in_the_database(flaky):
    r = mm(flaky, "run", "flaky.toml", "--seed", "0", "--quiet", "--sched", "free")
    assert r.returncode == 1
    (e,) = entries(flaky).values()
    assert e["sched"]["strategy"] == "free" and e["trace"] == f"{e['id']}.mmtrace"
    trace = flaky / ".mmstress" / "failures" / e["trace"]
    assert trace.is_file()
    listed = mm(flaky, "failures")
    assert f"mmstress replay {os.path.join('.mmstress', 'failures', e['trace'])}" in listed.stdout
    again = mm(flaky, "failures", "replay")
    assert again.returncode == 1 and entries(flaky)[0]["failures"] == 2
    assert f"reproduce: mmstress replay {os.path.join('.mmstress', 'failures', e['trace'])}" \
        in again.stdout                                   # the copy that stays
    assert trace.is_file() and not list((flaky / ".mmstress" / "failures").glob("*.new"))


@pytest.mark.slow
def test_a_sweep_reruns_saved_failures_first_and_saves_its_failing_runs(flaky):
    assert mm(flaky, "run", "flaky.toml", "--seed", "7", "--quiet").returncode == 1
    r = mm(flaky, "sweep", "flaky.toml", "--seeds", "0-2", "-j", "2", "--json", "s.json", "--quiet")
    assert r.returncode == 1
    assert "re-running 1 saved failure of flaky.toml first (seed 7" in r.stderr
    assert "saved failures re-run first: 1, 1 failed again" in r.stdout
    doc = json.loads((flaky / "s.json").read_text())
    schemas.validator("sweep").validate(doc)
    (s,) = doc["saved_failures"]
    assert (s["seed"], s["status"], s["change"]) == (7, "violations", "saved")
    assert sorted(entries(flaky)) == [0, 1, 2, 7]        # the sweep's runners saved theirs

    flaky.joinpath("flaky.toml").write_text(FIXED)
    r = mm(flaky, "sweep", "flaky.toml", "--seeds", "0-1", "-j", "2", "--quiet")
    assert r.returncode == 0                              # seeds 0, 1 ran in the sweep itself
    assert "re-running 2 saved failures of flaky.toml first (seeds 2, 7;" in r.stderr
    assert {s: e["passes"] for s, e in entries(flaky).items()} == {0: 1, 1: 1, 2: 1, 7: 1}


@pytest.mark.slow
def test_pytest_mmstress_runs_saved_failures_first_as_items(flaky):
    def pytest_run(*args):
        return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--mmstress",
                               "flaky.toml", "--mmstress-seeds", "1", *args], cwd=flaky,
                              env=env_on(), capture_output=True, text=True, timeout=180)

    assert mm(flaky, "run", "flaky.toml", "--seed", "0", "--quiet").returncode == 1
    (e,) = entries(flaky).values()
    r = pytest_run("-v")
    assert r.returncode == 1
    lines = [line for line in r.stdout.splitlines() if "::" in line and ("PASSED" in line or
                                                                          "FAILED" in line)]
    assert lines[0].startswith(f"flaky.toml::flaky[saved={e['id'][:8]},seed=0] FAILED"), r.stdout
    assert lines[1].startswith("flaky.toml::flaky[seed=1] FAILED")
    assert "re-running 1 saved failure of flaky.toml first (seed 0" in r.stdout
    assert "fails again: kernel BUG at include/linux/gfp.h: GFP_ZONE_BAD" in r.stdout
    assert sorted(entries(flaky)) == [0, 1]               # the failing item was saved too

    flaky.joinpath("flaky.toml").write_text(FIXED)
    r = pytest_run("-q", "--mmstress-failures-keep", "1")
    assert r.returncode == 0, r.stdout                    # seed 1 is an item: counts for itself
    assert "2 passed" in r.stdout
    assert entries(flaky) == {}
