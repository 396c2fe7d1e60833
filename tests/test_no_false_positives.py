"""No false positives: correct scenarios report nothing, whatever the seed.

Correct means every built-in scenario (``harness.scenario.available()``) and
every correct twin of the planted-bug catalogue (``scenarios/bugs/*_ok.toml``).
A report here is a checker bug (or a model bug), never noise to tolerate.

The nightly lane (``pytest --nightly``) runs each over 200 seeds; the fast
lane over a few seeds, with the catalogue's own seed left to
test_bug_catalogue.py.  Runs are shortened to a fraction of a second
(scenarios limited by ``ops`` keep their count).
"""

import glob
import os

import pytest

from harness.supervisor import machine
from harness import scenario

SHORT = 0.4
NIGHTLY_SEEDS = int(os.environ.get("MMSTRESS_FP_SEEDS", "200"))


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


def test_the_list_is_not_empty():
    args = correct_scenarios()
    assert "smoke" in args and any(a.endswith("_ok.toml") for a in args)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("arg", builtin_scenarios(), ids=_id)
def test_builtin_scenarios_are_clean(arg, seed):
    check_clean(arg, seed)


@pytest.mark.parametrize("arg", twins(), ids=_id)
def test_correct_twins_are_clean_on_another_seed(arg):
    check_clean(arg, 7)


@pytest.mark.nightly
@pytest.mark.parametrize("arg", correct_scenarios(), ids=_id)
def test_no_false_positives_nightly(arg):
    """One item per scenario (not per seed: 200 x 54 skipped items would drown the
    fast lane's output); every failing seed is listed with its reproduce command."""
    bad = []
    for seed in range(1000, 1000 + NIGHTLY_SEEDS):
        try:
            check_clean(arg, seed)
        except AssertionError as exc:
            bad.append(str(exc).splitlines()[0] + " ... " + str(exc).splitlines()[-1])
    assert not bad, "\n".join(bad)
