"""No false positives: correct scenarios report nothing, whatever the seed.

Correct means every built-in scenario (``harness.scenario.available()``) and
every correct twin of the planted-bug catalogue (``scenarios/bugs/*_ok.toml``).
A report here is a checker bug (or a model bug), never noise to tolerate.

This is the fast lane: a few seeds, with the catalogue's own seed left to
test_bug_catalogue.py; tests/nightly/test_no_false_positives_nightly.py runs
each over 200 seeds (``pytest --nightly``).  Runs are shortened to a fraction of a second
(scenarios limited by ``ops`` keep their count).
"""

import pytest

from clean_runs import _id, builtin_scenarios, check_clean, correct_scenarios, twins


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
