"""The nightly lane of no-false-positives: every correct scenario over NIGHTLY_SEEDS seeds.

Run with ``pytest --nightly`` (skipped otherwise); ``MMSTRESS_FP_SEEDS`` sets
the seed count (default 200), ``MMSTRESS_FP_FIRST_SEED`` the first (default 1000).
"""

import pytest

from clean_runs import FIRST_SEED, NIGHTLY_SEEDS, _id, check_clean, correct_scenarios


@pytest.mark.nightly
@pytest.mark.parametrize("arg", correct_scenarios(), ids=_id)
def test_no_false_positives_nightly(arg):
    """One item per scenario (not per seed: 200 x 54 skipped items would drown the
    fast lane's output); every failing seed is listed with its reproduce command."""
    bad = []
    for seed in range(FIRST_SEED, FIRST_SEED + NIGHTLY_SEEDS):
        try:
            check_clean(arg, seed)
        except AssertionError as exc:
            bad.append(str(exc).splitlines()[0] + " ... " + str(exc).splitlines()[-1])
    assert not bad, "\n".join(bad)
