"""The planted-bug catalogue: every scenarios/bugs/*.toml is found, every correct twin is clean.

A bug scenario names the kinds it must report (``expect``); its twin
``<name>_ok.toml`` does the same work correctly and must report nothing at
all: no violation, no failure, no invariant problem.  This is what makes a
checker real: a test that shows it catching its bug and staying silent on
the correct code (STYLE.md, habit 6).

Where a kind is found: checker violations (``result.violations``), a
workload's exception (``result.failures``, kind ``workload-error``), and the
end-of-run model checks (``result.invariants``, kind ``invariant``; the
machine runs them itself rather than through the invariants checker).
"""

import glob
import os

import pytest

import catalogue_runs
from harness import scenario
from harness.checkers.kinds import KINDS

BUGS = os.path.join(scenario.SCENARIO_DIR, "bugs")
SEED = catalogue_runs.SEED
PATHS = sorted(glob.glob(os.path.join(BUGS, "*.toml")))


def _id(path):
    return os.path.basename(path)[:-5]


def kinds_found(result):
    found = {v["kind"] for v in result.violations}
    found |= {f["kind"] for f in result.failures}
    if result.invariants:
        found.add("invariant")
    return found


def describe(result):
    lines = [f"violations: {[(v['kind'], v['title']) for v in result.violations]}",
             f"failures: {[(f['kind'], f['message']) for f in result.failures]}",
             f"invariants: {result.invariants}"]
    for f in result.failures:
        if f.get("traceback"):
            lines.append(f["traceback"])
    return "\n".join(lines)


def test_the_catalogue_exists():
    assert len(PATHS) >= 2


@pytest.mark.parametrize("path", PATHS, ids=_id)
def test_catalogue_scenario(path):
    sc = scenario.resolve(path)
    assert all(k in KINDS for k in sc.expect)
    assert sc.duration is None or sc.duration <= 2, "catalogue scenarios run 1-2 s (or use ops)"
    result = catalogue_runs.run(path)
    found = kinds_found(result)
    if _id(path).endswith("_ok"):
        assert sc.expect == [], "a correct twin expects nothing"
        assert not found, f"the correct twin reported something:\n{describe(result)}"
        assert result.exit_code == 0
    else:
        assert sc.expect, "a bug scenario names the kinds it must report (expect = [...])"
        missing = set(sc.expect) - found
        if missing:                    # a free-running race the OS did not interleave
            result = catalogue_runs.found(path, kinds_found)
            missing = set(sc.expect) - kinds_found(result)
        assert not missing, f"expected {sorted(missing)} not reported:\n{describe(result)}"


@pytest.mark.parametrize("path", [p for p in PATHS if not _id(p).endswith("_ok")], ids=_id)
def test_every_bug_has_a_correct_twin(path):
    sc = scenario.resolve(path)
    if sc.expect:
        twin = path[:-5] + "_ok.toml"
        assert os.path.exists(twin), f"{_id(path)} has no correct twin {os.path.basename(twin)}"
