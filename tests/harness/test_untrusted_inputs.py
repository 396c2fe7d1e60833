"""The pieces that keep user files from steering mmstress: escaping, file names, bounded reads, trust.

Each helper is shown doing its job on hostile input and leaving ordinary
input alone (the good path).
"""

import os
import xml.etree.ElementTree as ET

import pytest

from harness import scenario
from harness.exits import printable
from harness.outputs import recording, trust
from harness.outputs.junit import xml_text
from harness.scenario.files import InputFileError, read_input
from harness.scheduler.trace import BadTrace, Trace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_printable_escapes_what_drives_a_terminal_and_keeps_plain_text():
    assert printable("\x1b[2J\x1b[Hall checks passed") == "\\x1b[2J\\x1b[Hall checks passed"
    assert printable("a\rb\x00c\x9bd\u202ee") == "a\\rb\\x00c\\x9bd\\u202ee"
    assert printable("line\nnext") == "line\\nnext"                     # one line stays one line
    assert printable("line\n\tnext\x07", multiline=True) == "line\n\tnext\\x07"
    plain = "BUG: KASAN: double-free in kfree — CPU 1 (ü, 日本)"
    assert printable(plain) == plain and printable(plain, multiline=True) == plain


def test_xml_text_makes_any_string_parseable_and_leaves_xml_text_alone():
    bad = "name\x1b[31m\x00\ud800\ufffe"
    doc = f'<a b="{xml_text(bad)}">{xml_text(bad)}</a>'
    assert ET.fromstring(doc).get("b") == "name\\x1b[31m\\x00\\ud800\\ufffe"
    ok = "tab\tnewline\n ü 日本 \U0001F600"
    assert xml_text(ok) == ok


def test_junit_of_a_run_named_with_control_characters_parses():
    from harness.outputs.junit import junit_xml
    run = {"scenario": "x\x1b[2J\x00", "seed": 1, "exit_code": 0, "status": "clean", "elapsed": 0.1,
           "failures": [], "violations": [], "invariants": []}
    import harness.outputs.junit as junit
    real = junit.summary
    junit.summary = lambda r: f"== {r['scenario']}\x00"
    try:
        root = ET.fromstring(junit_xml({"runs": [run]}))
    finally:
        junit.summary = real
    assert root.find(".//testcase").get("name") == "x\\x1b[2J\\x00[seed=1]"


@pytest.mark.parametrize("name, safe", [("larson", "larson"), ("x/../../../ESCAPED", "x_.._.._.._ESCAPED"),
                                        ("../up", "_up"), ("/abs", "_abs"), ("", "scenario"),
                                        ("a b\x1b", "a_b_"), ("..", "scenario")])
def test_auto_saved_trace_names_are_plain_file_names(name, safe):
    class Sc:
        pass
    sc = Sc()
    sc.name = name
    path = recording.default_path(sc, 3)
    assert path == f"mmstress-{safe}-seed3.mmtrace"
    assert os.path.dirname(path) == "" and os.sep not in path


def test_durations_are_finite_and_at_most_a_day():
    assert scenario.parse_duration("24h") == 86400 and scenario.parse_duration("500ms") == 0.5
    for bad in ("25h", float("inf"), float("nan"), "9" * 5000, 1e300, "1" * 31 + "s"):
        with pytest.raises(ValueError):
            scenario.parse_duration(bad)


def test_read_input_reads_regular_files_only_and_only_so_far(tmp_path):
    f = tmp_path / "s.toml"
    f.write_bytes(b"cpus = 2\n")
    assert read_input(str(f), 100) == b"cpus = 2\n"
    with pytest.raises(InputFileError, match="larger than 4"):
        read_input(str(f), 4)
    os.mkfifo(tmp_path / "fifo")
    for path, what in ((str(tmp_path / "fifo"), "a FIFO"), ("/dev/zero", "a device"),
                       (str(tmp_path), "a directory"), (str(tmp_path / "none"), "cannot read")):
        with pytest.raises(InputFileError, match=what):
            read_input(path, 100)


def test_a_huge_scenario_file_is_refused(tmp_path):
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * (scenario.MAX_SCENARIO_BYTES + 10) + b"\n")
    with pytest.raises(scenario.ScenarioError, match="too large"):
        scenario.load(str(big))


def test_library_names_cannot_climb_out_of_the_library():
    assert scenario.is_library_name("larson") and scenario.is_library_name("bugs/lock_abba")
    for bad in ("bugs/../../etc/passwd", "../x", "/etc/x", "a/b", "x.toml", "bugs/x/y", ""):
        assert not scenario.is_library_name(bad), bad
    with pytest.raises(scenario.ScenarioError):
        scenario.scenario_file("bugs/../../../../etc/hostname")


def test_workload_files_are_the_module_its_packages_and_its_own_helpers():
    sc = scenario.resolve("bugs/race_refcount")
    files = trust.workload_files(sc.workload, sc.source)
    assert set(files) == {"scenarios", "scenarios.workloads", "scenarios.workloads.bugs",
                          "scenarios.workloads.bugs.race_refcount",
                          "scenarios.workloads.bugs.race_shared"}          # not kernel_model
    assert all(os.path.isfile(p) for p in files.values())


def test_a_user_workload_and_its_helper_are_hashed_without_import(tmp_path):
    (tmp_path / "wl.py").write_text("import helper\nraise SystemExit('imported')\n")
    (tmp_path / "helper.py").write_text("X = 1\n")
    (tmp_path / "s.toml").write_text('workload = "wl.py"\n')
    files = trust.workload_files("wl.py", str(tmp_path / "s.toml"))
    assert files == {"wl.py": str(tmp_path / "wl.py"), "helper": str(tmp_path / "helper.py")}
    assert trust.workload_files("no_such_wl", str(tmp_path / "s.toml")) == {}


def test_a_library_trace_passes_the_trust_check_and_a_moved_one_is_refused(tmp_path):
    path = os.path.join(ROOT, "ci", "regressions", "lock-abba.mmtrace")
    trace = Trace.load(path)
    scenario_path, text = trust.vet_trace(trace, path)
    assert scenario.library_name(scenario_path) == "bugs/lock_abba" and text == trace.header["scenario_text"]
    trace.header["source"] = "/etc/hostname"
    with pytest.raises(BadTrace, match="outside the scenario library"):
        trust.vet_trace(trace, path)
    trace.header["source"] = "bugs/lock_abba"
    trace.header["workloads"] = {"scenarios.workloads.bugs.lock_abba": "0" * 64}
    with pytest.raises(BadTrace, match="other workload code"):
        trust.vet_trace(trace, path, trust=True)                       # --trust never lifts a hash


def test_an_explore_checkpoint_of_other_workload_code_is_not_resumed(tmp_path):
    from types import SimpleNamespace

    from harness.tools import explore
    (tmp_path / "wl_ckpt.py").write_text("def process(k):\n    pass\n")
    (tmp_path / "s.toml").write_text('ops = 5\nworkload = "wl_ckpt.py"\n')
    ex = SimpleNamespace(scenario=scenario.load(str(tmp_path / "s.toml")), name="dfs", seed=1,
                         state=lambda: {"frontier": []})
    ckpt = str(tmp_path / "c.json")
    explore.save_checkpoint(ckpt, ex)
    assert explore.load_checkpoint(ckpt, explore.checkpoint_identity(ex)) == {"frontier": []}
    (tmp_path / "wl_ckpt.py").write_text("def process(k):\n    pass  # changed\n")
    with pytest.raises(ValueError, match="another search .workloads: wl_ckpt.py changed"):
        explore.load_checkpoint(ckpt, explore.checkpoint_identity(ex))
    os.remove(ckpt)
    os.mkfifo(ckpt)
    with pytest.raises(ValueError, match="FIFO"):
        explore.load_checkpoint(ckpt, explore.checkpoint_identity(ex))
