"""harness/tools/bench.py's rows: PASS, MISS or ERROR against a target (nothing measured)."""

from harness.tools import bench


def test_a_row_reports_pass_or_miss_against_its_target():
    assert bench.Row("k", "l", 2.0, "x", ">=", 1.8).status == "PASS"
    assert bench.Row("k", "l", 2.0, "x", "<=", 1.5).status == "MISS"
    assert bench.Row("k", "l", None, "x", "<=", 1.5, error="died").status == "ERROR"


def test_the_floor_is_a_reference_not_a_target():
    row = bench.Row("floor_pairs", "floor", 1e6, "pairs/s", "ref", 0)
    assert row.status == "REF" and bench.format_target(row) == "reference"


def test_compare_gives_after_over_before_with_the_rows_direction():
    old = {"rows": [{"key": "rate", "value": 100.0}, {"key": "cost", "value": 2.0},
                    {"key": "same", "value": 10.0}, {"key": "gone", "value": 1.0}]}
    rows = [bench.Row("rate", "a rate", 150.0, "pairs/s", ">=", 1),
            bench.Row("cost", "a cost", 3.0, "x", "<=", 1.5),
            bench.Row("same", "noise", 10.2, "x", "<=", 3),
            bench.Row("new", "not in the old run", 1.0, "x", "<=", 3),
            bench.Row("err", "failed", None, "x", "<=", 3, error="died")]
    got = {label: (ratio, verdict) for label, _, _, ratio, verdict in bench.compare(rows, old)}
    assert got == {"a rate": (1.5, "better"), "a cost": (1.5, "worse"), "noise": (1.02, "")}
    text = bench.format_compare(bench.compare(rows, old))
    assert "1.50x  better" in text and "1.50x  worse" in text


def test_the_floor_loop_runs_on_a_real_cache_and_leaves_it_consistent():
    assert bench.floor_rate(2000) > 0


def test_compare_with_a_file_that_is_not_a_bench_run_is_exit_2_before_measuring(tmp_path, capsys):
    from harness.cli import main
    bad = tmp_path / "x.json"
    bad.write_text('{"runs": []}')
    assert main(["bench", "--quick", "--compare", str(bad)]) == 2
    assert "not a `mmstress bench --json` file" in capsys.readouterr().err
    assert main(["bench", "--quick", "--compare", str(tmp_path / "missing.json")]) == 2
