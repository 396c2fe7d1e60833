"""``mmstress bench races``: the race list is data, every race and twin runs under
every strategy, and a twin that reports anything is counted against it."""

import json
import os

import jsonschema
import pytest

from harness import cli, scenario
from harness.outputs import schemas
from harness.tools import bench


def test_the_race_list_names_planted_bugs_with_correct_twins():
    races = bench.race_catalogue()
    names = [n for n, _ in races]
    assert {"lock_abba", "percpu_irq_race", "double_free_cross_cpu", "zone_lock_missing",
            "slub_fastpath_no_irq", "slub_skip_double_free"} <= set(names)
    for name, kind in races:
        sc = scenario.resolve("bugs/" + name)
        assert os.path.exists(os.path.join(scenario.BUGS_DIR, name + "_ok.toml")), name
        assert kind in (None, "any", "deadlock") or kind in sc.expect


def test_a_race_list_file_is_read_as_data(tmp_path):
    f = tmp_path / "races.txt"
    f.write_text("# comment\nlock_abba deadlock  # why\n\npercpu_irq_race\n")
    assert bench.race_catalogue(str(f)) == [("lock_abba", "deadlock"), ("percpu_irq_race", None)]


def test_race_bench_finds_the_race_and_keeps_the_twin_clean():
    cells = bench.race_bench(seeds=3, ops=5, catalogue=[("lock_abba", "deadlock")])
    assert {(c.strategy, c.twin) for c in cells} == {(s, t) for s in bench.RACE_STRATEGIES
                                                    for t in (False, True)}
    totals = bench.race_totals(cells)
    assert sum(t["detections"] for t in totals.values()) > 0, "no strategy found AB-BA's deadlock"
    assert all(t["false_positives"] == 0 for t in totals.values())
    assert all(c.runs == 3 for c in cells)
    pct = [c for c in cells if c.strategy == "pct" and not c.twin][0]
    assert pct.k and pct.k < 1000, "pct's k is measured, not the size guess"


def test_a_dirty_twin_is_counted_against_the_strategy():
    cells = bench.race_bench(seeds=2, ops=5, strategies=("random",),
                             catalogue=[("lock_abba", "deadlock")])
    assert [c.hits for c in cells if c.twin] == [0]
    dirty = bench.race_cell("lock_abba", "random", 2, 5, twin=True)   # lockdep fires: "not clean"
    assert dirty.hits == 2


@pytest.mark.slow
def test_bench_races_command_prints_every_strategy(capsys, tmp_path):
    path = tmp_path / "races.json"
    code = cli.main(["bench", "races", "--seeds", "1", "--race-ops", "3", "--json", str(path)])
    out = capsys.readouterr().out
    assert code == 0, out
    for s in bench.RACE_STRATEGIES:
        assert f"  {s:<7s}" in out
    doc = json.loads(path.read_text())
    schemas.validate(doc)
    assert doc["kind"] == "bench-races" and set(doc["totals"]) == set(bench.RACE_STRATEGIES)
    del doc["totals"][bench.RACE_STRATEGIES[0]]["false_positives"]
    with pytest.raises(jsonschema.ValidationError):
        schemas.validate(doc)
    assert cli.main(["bench", "races", "--seeds", "0"]) == 2
