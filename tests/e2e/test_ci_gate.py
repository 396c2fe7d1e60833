"""ci/gate.sh end to end on a tiny budget: one 300 ms scenario, two seeds.

The gate runs under ``sh`` (dash on Debian: POSIX).  The regression-replay
step is tested against a stand-in ``mmstress`` (a shell script answering
``replay`` with the exit codes of the replay contract: 0 reproduced, 1 the
outcome differs, 3 cannot replay) so it does not depend on which replay this
tree has; everything else goes to the real ``python -m harness``.
"""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from harness.outputs import schemas

pytestmark = pytest.mark.slow           # every test runs ci/gate.sh

from test_sweep import BUG, CLEAN

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GATE = os.path.join(ROOT, "ci", "gate.sh")

FAKE = """#!/bin/sh
# replay: a stand-in with the contract's exit codes; the rest: the real mmstress
if [ "$1" = replay ]; then
    case $2 in
        --help) [ -z "${NO_REPLAY:-}" ] || exit 2; exit 0 ;;
        *good*) echo "replayed $2"; exit 0 ;;
        *regressed*) exit 1 ;;
        *) exit 3 ;;
    esac
fi
exec %s -m harness "$@"
"""


def gate(cwd, *args, **env):
    full = dict(os.environ, PYTHONPATH=ROOT, MMSTRESS=f"{sys.executable} -m harness")
    for k in [k for k in full if k.startswith("MMSTRESS_")]:
        del full[k]
    full.update(env)
    return subprocess.run(["sh", GATE, *args], cwd=cwd, env=full, capture_output=True, text=True,
                          timeout=180)


@pytest.fixture
def work(tmp_path):
    for d in ("lib", "buglib", "regressions"):
        (tmp_path / d).mkdir()
    (tmp_path / "lib" / "clean.toml").write_text(CLEAN)
    (tmp_path / "buglib" / "bug.toml").write_text(BUG)
    fake = tmp_path / "fake-mmstress"
    fake.write_text(FAKE % sys.executable)
    fake.chmod(0o755)
    return tmp_path


def test_pr_lane_passes_on_a_clean_library(work):
    r = gate(work, "pr", "--scenarios", "lib", "--regressions", "regressions", "--seeds", "0-1",
             "--jobs", "2", "--out", "reports")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no regression traces in regressions" in r.stdout
    assert "2 passed" in r.stdout and "gate: pr lane passed" in r.stdout
    doc = json.loads((work / "reports" / "pr.json").read_text())
    assert doc["counts"]["passed"] == 2
    schemas.validate(doc)                          # the gate's JSON is a sweep document
    names = sorted(c.get("name") for c in ET.parse(work / "reports" / "pr.xml").iter("testcase"))
    assert names == ["clean[seed=0]", "clean[seed=1]"]


def test_pr_lane_fails_with_reproduce_commands(work):
    r = gate(work, "pr", "--scenarios", "buglib", "--regressions", "regressions", "--seeds", "0-1",
             "--out", "reports", MMSTRESS_JOBS="2")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "seed 1: mmstress run buglib/bug.toml --seed 1 --cpus 2 --duration 300ms" in r.stdout
    assert "gate: pr lane FAILED: violations" in r.stderr
    assert json.loads((work / "reports" / "pr.json").read_text())["exit_code"] == 1


def test_regression_traces_are_replayed_first(work):
    for name in ("a-good.mmtrace", "b-regressed.mmtrace", "notes.txt"):
        (work / "regressions" / name).write_text("x")
    r = gate(work, "pr", "--scenarios", "lib", "--regressions", "regressions", "--seeds", "0",
             "--out", "reports", MMSTRESS=str(work / "fake-mmstress"))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "replaying 2 regression trace(s)" in r.stdout
    assert "replay ok: regressions/a-good.mmtrace" in r.stdout
    assert "REGRESSION: regressions/b-regressed.mmtrace" in r.stderr
    assert r.stdout.index("replay ok") < r.stdout.index("1 passed")      # replays, then the sweep


def test_a_trace_that_cannot_be_replayed_is_a_harness_failure(work):
    (work / "regressions" / "damaged.mmtrace").write_text("x")
    r = gate(work, "pr", "--scenarios", "lib", "--regressions", "regressions", "--seeds", "0",
             "--out", "reports", MMSTRESS=str(work / "fake-mmstress"))
    assert r.returncode == 3, r.stdout + r.stderr
    assert "cannot replay regressions/damaged.mmtrace (exit 3)" in r.stderr


def test_traces_without_a_replay_command_say_so(work):
    (work / "regressions" / "a-good.mmtrace").write_text("x")
    r = gate(work, "pr", "--scenarios", "lib", "--regressions", "regressions", "--seeds", "0",
             "--out", "reports", MMSTRESS=str(work / "fake-mmstress"), NO_REPLAY="1")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "this mmstress has no 'replay' command" in r.stderr


def test_nightly_lane_prints_its_fresh_seeds(work):
    r = gate(work, "nightly", "--scenarios", "lib", "--regressions", "none", "--seed-base", "4000",
             "--budget", "1s", "--sched", "", "--out", "reports")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "nightly seeds 4000-4999 (repeat this night with: ci/gate.sh nightly --seeds 4000-4999)" \
        in r.stdout
    doc = json.loads((work / "reports" / "nightly.json").read_text())
    assert doc["seeds"] == "4000-4999" and doc["counts"]["passed"] >= 1
    assert doc["counts"]["passed"] + doc["counts"]["not_run"] == 1000


@pytest.mark.parametrize("args, words", [
    (["weekly"], "unknown lane 'weekly'"),
    (["pr", "--frobnicate", "1"], "unknown option '--frobnicate'"),
    (["pr", "--scenarios", "missing"], "no scenario folder 'missing'"),
    (["pr", "--scenarios", "regressions"], "no scenario files in 'regressions'"),
    (["pr", "--scenarios", "lib", "--seeds", "x", "--regressions", "none"], "--seeds x:"),
    (["pr", "--jobs"], "--jobs needs a value"),
])
def test_bad_usage_exits_2(work, args, words):
    r = gate(work, *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert words in r.stderr


def test_pr_lane_replays_the_shipped_regression_traces_with_the_real_replay(work):
    """ci/regressions holds minimised traces of planted races: the real `mmstress replay
    --check` must reproduce each (the checkers still catch them), then the lane sweeps."""
    shipped = os.path.join(ROOT, "ci", "regressions")
    traces = sorted(f for f in os.listdir(shipped) if f.endswith(".mmtrace"))
    assert traces, "ci/regressions ships no trace"
    r = gate(work, "pr", "--scenarios", "lib", "--regressions", shipped, "--seeds", "0",
             "--jobs", "2", "--out", "reports")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for t in traces:
        assert f"replay ok: {os.path.join(shipped, t)}" in r.stdout
