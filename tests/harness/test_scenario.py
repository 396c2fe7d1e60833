"""Scenario validation: every bad-input class names file, line, key and what is allowed (exit 2)."""

import os

import pytest

from harness import scenario
from harness.cli import main
from harness.exits import EXIT_USAGE
from harness.scenario import ScenarioError

GOOD = """\
description = "ok"
cpus = 2
duration = "1s"

[memory]
size = "32M"

[process]
ops = [
  { op = "alloc_pages", order = "0..3" },
  { op = "kmalloc", size = "8..512", gfp = "GFP_KERNEL" },
]
"""


def _err(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        scenario.load(str(path))
    return str(info.value)


def test_good_scenario_parses(tmp_path):
    p = tmp_path / "good.toml"
    p.write_text(GOOD)
    sc = scenario.load(str(p))
    assert sc.name == "good" and sc.cpus == 2 and sc.duration == 1.0 and sc.slab == "slub"
    assert [s.op for s in sc.mixes["process"].specs] == ["alloc_pages", "kmalloc"]


def test_every_shipped_scenario_is_valid():
    names = [n for n, desc in scenario.available()]
    assert "smoke" in names and "larson" in names
    for name in names:
        assert scenario.resolve(name).description


@pytest.mark.parametrize("text, line, key, allowed", [
    # unknown keys, at the top, in a table, in an op entry
    (GOOD.replace("cpus = 2", "cpuz = 2"), 2, "cpuz", "allowed here: allocator, checkers"),
    (GOOD.replace('size = "32M"', 'size = "32M"\nswap = true'), 7, "memory.swap", "allowed here: arch"),
    (GOOD.replace('order = "0..3"', 'order = "0..3", colour = 1'), 10, "process.ops[0].colour",
     "allowed here: cache, dist"),
    # wrong types
    (GOOD.replace("cpus = 2", 'cpus = "2"'), 2, "cpus", "an integer from 1 to 64 expected"),
    (GOOD.replace('size = "32M"', "size = true"), 6, "memory.size", "a size like"),
    (GOOD.replace("[process]", "[interrupts]\nrate = \"fast\"\n\n[process]"), 9, "interrupts.rate",
     "a number from 0 to 20000"),
    # impossible values
    (GOOD.replace("cpus = 2", "cpus = 0"), 2, "cpus", "allowed: an integer from 1 to 64"),
    (GOOD.replace('duration = "1s"', 'duration = "-1s"'), 3, "duration", "a duration like"),
    (GOOD.replace('size = "32M"', 'size = "8M"'), 6, "memory.size", "at least 16M"),
    (GOOD.replace('order = "0..3"', 'order = "0..11"'), 10, "process.ops[0].order", "0 <= LO <= HI <= 10"),
    (GOOD.replace('gfp = "GFP_KERNEL"', 'gfp = "GFP_KERNAL"'), 11, "process.ops[1].gfp", "GFP_KERNAL"),
    (GOOD.replace('op = "kmalloc"', 'op = "kmallok"'), 11, "process.ops[1].op", "allowed: kmalloc"),
    (GOOD.replace("[memory]", "[allocator]\nslab = \"slob\"\n\n[memory]"), 6, "allocator.slab",
     "allowed: slub, slab"),
    (GOOD.replace('duration = "1s"', 'duration = "1s"\nops = 5'), 4, "ops", "not both"),
    (GOOD.replace("cpus = 2", 'cpus = 2\ncheckers = ["kasan"]'), 3, "checkers", "available: "),
    (GOOD.replace("[process]", "[process]\nfree = 1.5"), 9, "process.free", "from 0 to 1"),
])
def test_bad_input_names_file_line_key_and_allowed(tmp_path, text, line, key, allowed):
    msg = _err(tmp_path, text)
    assert msg.startswith(f"{tmp_path / 'bad.toml'}:{line}: {key}: "), msg
    assert allowed in msg, msg


def test_workload_module_that_is_not_found(tmp_path):
    msg = _err(tmp_path, 'workload = "no.such.module"\n')
    assert ":1: workload: cannot find 'no.such.module'; looked for" in msg
    assert str(tmp_path / "no" / "such" / "module.py") in msg


def test_workload_and_mixes_are_exclusive(tmp_path):
    assert "not both" in _err(tmp_path, 'workload = "scenarios.workloads.larson"\n' + GOOD)


def test_not_toml(tmp_path):
    assert "not valid TOML" in _err(tmp_path, "cpus = = 2\n")


def test_cli_bad_scenario_is_exit_2_without_traceback(tmp_path, capsys):
    p = tmp_path / "bad.toml"
    p.write_text(GOOD.replace("cpus = 2", "cpus = 100"))
    assert main(["run", str(p)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "bad.toml:2: cpus:" in err and "Traceback" not in err


@pytest.mark.parametrize("argv, text", [
    (["run", "no_such_scenario"], "no scenario called 'no_such_scenario'"),
    (["run", "--duration", "soon"], "--duration 'soon'"),
    (["run", "--cpus", "0"], "--cpus 0"),
    (["run", "--ops", "5", "--duration", "1s"], "not both"),
    (["run", "--proc", "meminfo"], "--proc meminfo: allowed: buddyinfo"),
])
def test_cli_bad_usage_is_exit_2(capsys, argv, text):
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err


def test_smoke_is_a_library_file_listed_first_and_the_default(capsys):
    sc = scenario.resolve("smoke")
    assert sc.source == scenario.SMOKE_PATH and sc.name == "smoke"
    assert scenario.available()[0] == ("smoke", sc.description)
    assert scenario.library_name(scenario.SMOKE_PATH) == "smoke"
    assert scenario.library_name(os.path.join(scenario.BUGS_DIR, "lock_abba.toml")) == "bugs/lock_abba"
    assert scenario.library_name("elsewhere/x.toml") is None
    assert main(["list"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[0] == "smoke"
