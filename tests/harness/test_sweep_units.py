"""harness/tools/sweep.py without running a sweep: seed lists, a failing run's text and its grouping."""

import pytest

from harness.tools.sweep import failure_text, parse_seeds, problems


# --- seed lists ------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, seeds", [
    ("0-3", [0, 1, 2, 3]),
    ("7", [7]),
    ("1,5,7", [1, 5, 7]),
    ("0-2,1,10,8-9", [0, 1, 2, 10, 8, 9]),     # the order given, no repeats
    (" 3..5 , 9 ", [3, 4, 5, 9]),
])
def test_parse_seeds(spec, seeds):
    assert parse_seeds(spec) == seeds


@pytest.mark.parametrize("spec, words", [
    ("", "empty"), ("x", "'x' is not a seed"), ("5-1", "ends before it starts"),
    ("-1", "not a seed"), ("1,,2", "not a seed"), ("0-99999999999", "more than"),
])
def test_parse_seeds_rejects(spec, words):
    with pytest.raises(ValueError) as exc:
        parse_seeds(spec)
    assert words in str(exc.value)
    assert "allowed" in str(exc.value) or "more than" in str(exc.value)


def test_failure_text_and_problems_of_a_run():
    run = {"scenario": "s", "seed": 4, "status": "violations", "elapsed": 0.3,
           "violations": [{"kind": "double-free", "title": "BUG: double free at 0xffff8880001000",
                           "text": "BUG: double free at 0xffff8880001000\nstack", "site": "w.py:3 (f)",
                           "count": 2}],
           "failures": [], "invariants": ["zone DMA32 NR_FREE_PAGES is 3 but 4"],
           "reproduce": "mmstress run s.toml --seed 4 --cpus 2 --duration 300ms"}
    text = failure_text(run)
    assert "BUG: double free" in text and "(seen 2 times)" in text
    assert "BUG: allocator state corrupt: zone DMA32" in text
    assert text.endswith("reproduce: mmstress run s.toml --seed 4 --cpus 2 --duration 300ms")
    assert problems(run) == [(("double-free", "BUG: double free at N"), "w.py:3 (f)"),
                             (("invariant", "zone DMA32 NR_FREE_PAGES is N but N"), "")]
