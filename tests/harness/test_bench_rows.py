"""harness/tools/bench.py's rows: PASS, MISS or ERROR against a target (nothing measured)."""

from harness.tools import bench


def test_a_row_reports_pass_or_miss_against_its_target():
    assert bench.Row("k", "l", 2.0, "x", ">=", 1.8).status == "PASS"
    assert bench.Row("k", "l", 2.0, "x", "<=", 1.5).status == "MISS"
    assert bench.Row("k", "l", None, "x", "<=", 1.5, error="died").status == "ERROR"
