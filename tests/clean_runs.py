"""Correct scenarios and the check that a run of one reports nothing (no false positives).

Shared by the fast lane (tests/e2e/test_no_false_positives.py) and the
nightly lane (tests/nightly/test_no_false_positives_nightly.py).  Correct
means every built-in scenario and every correct twin of the planted-bug
catalogue (``scenarios/bugs/*_ok.toml``).  Runs are shortened to a fraction of
a second (scenarios limited by ``ops`` keep their count).
"""

import glob
import os

from harness.supervisor import machine
from harness import scenario

SHORT = 0.4
NIGHTLY_SEEDS = int(os.environ.get("MMSTRESS_FP_SEEDS", "200"))
FIRST_SEED = int(os.environ.get("MMSTRESS_FP_FIRST_SEED", "1000"))   # resume a lane part-way


def builtin_scenarios():
    """The built-in scenarios that are not planted bugs (the catalogue's twins come separately)."""
    out = []
    for name, _ in scenario.available():
        if name.startswith("bugs/") or name.startswith("bugs" + os.sep):
            continue
        try:
            if scenario.resolve(name).expect:
                continue
        except scenario.ScenarioError:
            pass                               # an invalid scenario fails loudly in the test
        out.append(name)
    return out


def twins():
    return sorted(glob.glob(os.path.join(scenario.SCENARIO_DIR, "bugs", "*_ok.toml")))


def correct_scenarios():
    return builtin_scenarios() + twins()


def _id(arg):
    return os.path.basename(arg)[:-5] if arg.endswith(".toml") else arg


def short(sc):
    if sc.ops is None:
        sc.duration = min(sc.duration or SHORT, SHORT)
    return sc


def reports(result):
    out = [f"{v['kind']}: {v['title']}" for v in result.violations]
    out += [f"{f['kind']}: {f['message']}" for f in result.failures]
    out += [f"invariant: {p}" for p in result.invariants]
    return out


def check_clean(arg, seed):
    sc = scenario.resolve(arg)
    assert sc.expect == [], f"{_id(arg)} is a bug scenario"
    result = machine.run(short(sc), seed)
    found = reports(result)
    assert not found, (f"{_id(arg)} seed {seed} reported:\n  " + "\n  ".join(found)
                       + f"\nreproduce: mmstress run {arg} --seed {seed} {sc.limit_text()}")
    assert result.exit_code == 0


