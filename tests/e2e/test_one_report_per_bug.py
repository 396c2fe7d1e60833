"""One bug, one report, at the workload's line: every planted bug of the catalogue.

Each ``scenarios/bugs/*.toml`` (not ``_ok``) runs with its own settings and
must come out as exactly one report group of the kind it expects -- grouped
the way ``mmstress sweep`` and the pytest plugin group (``sweep.problems``:
the record's key, kind + normalised workload site) -- and that group's site
is a line of the bug's own workload module, or of its TOML for an op-mix
scenario (the op entry).  Never a harness, library or interrupted frame.
End-of-run model checks (``invariant``) have no workload line: their group
is the run's.

The slow test sweeps the whole catalogue over 4 seeds and expects one group
per bug across all seeds: the key holds no address, pfn or CPU number.  (A
planted model race may miss a seed; it must not make a second group.)
"""

import glob
import json
import os
import subprocess
import sys

import pytest

import catalogue_runs
from harness import scenario
from harness.outputs import report
from harness.tools.sweep import problems

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUGS = sorted(p for p in glob.glob(os.path.join(scenario.SCENARIO_DIR, "bugs", "*.toml"))
              if not p.endswith("_ok.toml"))


def _id(path):
    return os.path.basename(path)[:-5]


def bug_file(sc, path):
    """The file a bug's report must point into: its workload module, or its TOML."""
    if sc.workload:
        return os.path.relpath(sc.workload_file, ROOT)
    return os.path.relpath(path, ROOT)


def groups_of(run, kind):
    return [(key, what) for key, what in problems(run) if what["kind"] == kind]


def test_the_catalogue_is_all_here():
    assert len(BUGS) >= 28


@pytest.mark.parametrize("path", BUGS, ids=_id)
def test_one_report_group_at_the_bugs_own_line(path):
    sc = scenario.resolve(path)
    run = report.run_dict(catalogue_runs.run(path))
    (kind,) = sc.expect
    groups = groups_of(run, kind)
    if not groups:                            # a free-running race the OS did not interleave
        run = report.run_dict(catalogue_runs.found(path, lambda r: {v["kind"] for v in r.violations}
                                                   | {f["kind"] for f in r.failures}
                                                   | ({"invariant"} if r.invariants else set())))
        groups = groups_of(run, kind)
    assert len(groups) == 1, f"{kind}: {[k for k, _ in groups]}\nall: {[k for k, _ in problems(run)]}"
    key, what = groups[0]
    if kind == "invariant":
        assert what["site"] == "(end of run)"
        return
    want = bug_file(sc, path)
    assert what["site"].startswith(want + ":"), f"{what['site']} is not a line of {want}"
    line = int(what["site"][len(want) + 1:].split(" ", 1)[0])
    with open(os.path.join(ROOT, want)) as f:
        assert 1 <= line <= len(f.read().splitlines())
    mine = [v for v in run["violations"] if v["kind"] == kind]
    for v in mine:                              # the splat names it too, with CPU and trace
        assert v["key"] == key and v["count"] == sum(s["count"] for s in v.get("seen", [v]))
        assert v["frames"] and v["frames"][0] == v["site"]
        assert all("/harness/" not in f and "site-packages" not in f and "<frozen" not in f
                   for f in v["frames"])


@pytest.mark.slow
def test_a_sweep_of_the_catalogue_over_4_seeds_gives_one_group_per_bug(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    args = [sys.executable, "-m", "harness", "sweep", *[os.path.relpath(p, ROOT) for p in BUGS],
            "--seeds", "0-3", "-j", "2", "--json", str(tmp_path / "s.json"), "--quiet"]
    r = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode in (1, 3), r.stdout + r.stderr
    doc = json.loads((tmp_path / "s.json").read_text())
    for path in BUGS:
        sc = scenario.resolve(path)
        (kind,) = sc.expect
        keys = {g["key"] for g in doc["groups"] if g["kind"] == kind
                and any(x["scenario"] == sc.name for x in g["runs"])}
        if not keys:                          # a free-running race the OS did not interleave in
            run = report.run_dict(catalogue_runs.found(    # 4 seeds: found as the catalogue finds it
                path, lambda r: {v["kind"] for v in r.violations} | {f["kind"] for f in r.failures}
                | ({"invariant"} if r.invariants else set())))
            keys = {key for key, _ in groups_of(run, kind)}
        assert len(keys) == 1, f"{sc.name}: {sorted(keys)}"    # found, and one group over all seeds
