"""``mmstress bench --quick``: every row measured, with its target, exit 0 (speed is never asserted)."""

import json
import subprocess
import sys

import pytest

from harness.tools import bench
from harness.cli import main
from harness.exits import EXIT_OK, EXIT_USAGE


@pytest.mark.slow
def test_quick_bench_writes_every_row_with_value_and_target(tmp_path):
    path = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "harness", "bench", "--quick", "--json", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "cores" in proc.stdout and "Python" in proc.stdout
    doc = json.loads(path.read_text())
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["python"]
    rows = {r["key"]: r for r in doc["rows"]}
    assert set(rows) == set(bench.ROW_KEYS)
    for key, row in rows.items():
        assert isinstance(row["value"], (int, float)) and row["value"] > 0, row
        assert isinstance(row["target"], (int, float)) and row["target_op"] in (">=", "<=", "ref"), row
        assert row["status"] in (("REF",) if row["target_op"] == "ref" else ("PASS", "MISS")), row
        assert row["label"].strip() in proc.stdout, key


@pytest.mark.slow
def test_compare_prints_each_rows_ratio_against_a_saved_run(tmp_path):
    old = {"rows": [{"key": k, "value": 1.0} for k in bench.ROW_KEYS]}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    proc = subprocess.run([sys.executable, "-m", "harness", "bench", "--quick", "--compare", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
    after = proc.stdout.split(f"compared with {path}", 1)[1]
    assert "after/before" in after and "SLUB fast path / floor" in after


def test_bad_options_are_one_clear_message(tmp_path, capsys):
    for argv, word in ((["bench", "--pairs", "5"], "--pairs 5"),
                       (["bench", "--repeat", "0"], "--repeat 0"),
                       (["bench", "--seed", "-1"], "--seed -1"),
                       (["bench", "--json", str(tmp_path / "no" / "b.json")], "no such directory")):
        assert main(argv) == EXIT_USAGE
        err = capsys.readouterr().err
        assert word in err and "Traceback" not in err
