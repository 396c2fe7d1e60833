"""A trace is data: a malicious bundle never runs its code, a changed one never replays as the old run.

The bundle is what an attacker attaches to a bug report: a trace, its
scenario and a workload module that writes a marker file when it is
imported.  Its trace is a genuine recording (correct hashes), so only the
trust rules stand between ``mmstress replay``/``minimize``/``pytest
--mmstress`` and the module's code (harness/outputs/trust.py).  With
``--trust`` (or the scenario named on the command line) the code does run:
the marker appears, so the tests can fail.  Each command runs in a
subprocess with a timeout, as a user runs it.
"""

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

EVIL = '''\
import os
with open(os.environ["MARKER"], "w") as f:
    f.write("the workload's import ran")
from kernel_model.gfp import GFP_KERNEL


def process(k):
    obj = k.kmalloc(64, GFP_KERNEL)
    k.kfree(obj)
    k.kfree(obj)
'''
SCENARIO = 'cpus = 1\nops = 20\nworkload = "evil_wl.py"\n[allocator]\nslab = "slub"\n'
MIXES = 'cpus = 2\nops = 30\n[process]\nops = [ { op = "kmalloc", size = "8..256" } ]\n'


def mmstress(*args, cwd, marker, timeout=120):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS",
                                                          "PYTEST_XDIST_WORKER")}
    env["PYTHONPATH"] = ROOT
    env["MARKER"] = str(marker)
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A genuine recording of the bundle's scenario (the module ran then, to record it)."""
    src = tmp_path_factory.mktemp("attacker")
    (src / "evil_wl.py").write_text(EVIL)
    (src / "evil.toml").write_text(SCENARIO)
    proc = mmstress("harness", "run", "evil.toml", "--sched", "random", "--seed", "1",
                    "--trace", "t.mmtrace", "--quiet", cwd=src, marker=src / "recorded")
    assert proc.returncode == 1 and (src / "t.mmtrace").exists(), proc.stdout + proc.stderr
    return src


@pytest.fixture
def bundle(recorded, tmp_path):
    """The bundle unpacked into a fresh folder: trace, scenario and module side by side."""
    folder = tmp_path / "bundle"
    folder.mkdir()
    for name in ("t.mmtrace", "evil.toml", "evil_wl.py"):
        shutil.copy(recorded / name, folder / name)
    return folder


def refused(proc):
    return proc.returncode == 2 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", [["replay", "t.mmtrace"], ["replay", "t.mmtrace", "--check"],
                                     ["minimize", "t.mmtrace", "-o", "small.mmtrace"]])
def test_the_bundle_never_runs_its_code(bundle, command):
    marker = bundle / "MARKER"
    proc = mmstress("harness", *command, cwd=bundle, marker=marker)
    assert refused(proc), proc.stdout + proc.stderr
    assert not marker.exists()
    assert "evil_wl.py" in proc.stderr and "--trust" in proc.stderr       # where, and how to run it


def test_the_pytest_plugin_never_runs_the_bundles_code(bundle):
    marker = bundle / "MARKER"
    proc = mmstress("pytest", "-p", "no:cacheprovider", "--mmstress", "t.mmtrace", cwd=bundle,
                    marker=marker)
    assert proc.returncode == 1, proc.stdout + proc.stderr              # the item fails
    assert "outside the scenario library" in proc.stdout and not marker.exists()


def test_with_trust_or_the_scenario_named_the_code_runs(bundle):
    marker = bundle / "MARKER"
    proc = mmstress("harness", "replay", "t.mmtrace", "--trust", "--check", cwd=bundle, marker=marker)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert marker.exists() and "reproduced" in proc.stdout
    marker.unlink()
    proc = mmstress("harness", "replay", "t.mmtrace", "--scenario", "evil.toml", "--check",
                    cwd=bundle, marker=marker)
    assert proc.returncode == 0 and marker.exists(), proc.stdout + proc.stderr
    marker.unlink()
    proc = mmstress("pytest", "-p", "no:cacheprovider", "--mmstress", "--mmstress-trust", "t.mmtrace",
                    cwd=bundle, marker=marker)
    assert proc.returncode == 0 and marker.exists(), proc.stdout + proc.stderr


def test_a_changed_module_is_refused_before_import_even_with_trust(bundle):
    marker = bundle / "MARKER"
    with open(bundle / "evil_wl.py", "a") as f:
        f.write("# one more line\n")
    proc = mmstress("harness", "replay", "t.mmtrace", "--trust", cwd=bundle, marker=marker)
    assert refused(proc), proc.stdout + proc.stderr
    assert "other workload code" in proc.stderr and "evil_wl.py" in proc.stderr
    assert not marker.exists()


def test_a_changed_scenario_is_refused_and_the_change_shown(bundle):
    (bundle / "evil.toml").write_text(SCENARIO.replace("ops = 20", "ops = 21"))
    proc = mmstress("harness", "replay", "t.mmtrace", "--trust", cwd=bundle, marker=bundle / "MARKER")
    assert refused(proc) and "another version of" in proc.stderr
    assert "-ops = 20" in proc.stderr and "+ops = 21" in proc.stderr


def test_a_scenario_outside_the_trace_folder_needs_to_be_named(tmp_path):
    """An op-mix scenario (no code) beside the trace replays as it is, also when the folder
    moves; a trace saved away from its scenario needs --scenario (or --trust)."""
    home, elsewhere = tmp_path / "proj", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    (home / "mix.toml").write_text(MIXES)
    marker = tmp_path / "unused"
    rec = mmstress("harness", "run", "mix.toml", "--sched", "random", "--seed", "2", "--trace",
                   "t.mmtrace", "--quiet", cwd=home, marker=marker)
    assert rec.returncode == 0, rec.stdout + rec.stderr
    ok = mmstress("harness", "replay", "t.mmtrace", "--check", "--quiet", cwd=home, marker=marker)
    assert ok.returncode == 0 and "reproduced" in ok.stdout, ok.stdout + ok.stderr
    shutil.move(str(home), tmp_path / "moved")                  # a folder shared as a whole
    ok = mmstress("harness", "replay", "t.mmtrace", "--check", "--quiet", cwd=tmp_path / "moved",
                  marker=marker)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    home = tmp_path / "moved"
    rec = mmstress("harness", "run", "mix.toml", "--sched", "random", "--seed", "2", "--trace",
                   str(elsewhere / "t.mmtrace"), "--quiet", cwd=home, marker=marker)
    assert rec.returncode == 0, rec.stdout + rec.stderr
    proc = mmstress("harness", "replay", "t.mmtrace", cwd=elsewhere, marker=marker)
    assert refused(proc) and "outside the scenario library" in proc.stderr, proc.stderr
    named = mmstress("harness", "replay", "t.mmtrace", "--check", "--quiet", "--scenario",
                     str(home / "mix.toml"), cwd=elsewhere, marker=marker)
    assert named.returncode == 0, named.stdout + named.stderr


def test_a_format_2_trace_needs_trust_and_says_so(bundle):
    path = bundle / "t.mmtrace"
    with open(path, "rb") as f:
        header, body = json.loads(f.readline()), f.read()
    for key in ("scenario_text", "workloads"):
        del header[key]
    header["format"] = 2
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)
    proc = mmstress("harness", "replay", "t.mmtrace", cwd=bundle, marker=bundle / "MARKER")
    assert refused(proc) and "--trust" in proc.stderr and "no hash" in proc.stderr
    assert not (bundle / "MARKER").exists()


def test_a_library_trace_replays_without_any_flag(tmp_path):
    """The good path: a shipped regression trace (library scenario) needs no --trust."""
    shutil.copy(os.path.join(ROOT, "ci", "regressions", "lock-abba.mmtrace"), tmp_path / "l.mmtrace")
    proc = mmstress("harness", "replay", "l.mmtrace", "--check", "--quiet", cwd=tmp_path,
                    marker=tmp_path / "unused")
    assert proc.returncode == 0 and "reproduced" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("args, words", [
    (["run", "/dev/zero"], "a device, not a scenario file"),
    (["run", "smoke", "--duration", "9" * 5000], "--duration"),
    (["run", "smoke", "--duration", "25h"], "at most 24h"),
    (["replay", "/dev/zero"], "not a regular file"),
])
def test_bad_inputs_exit_2_at_once(tmp_path, args, words):
    proc = mmstress("harness", *args, cwd=tmp_path, marker=tmp_path / "unused", timeout=30)
    assert refused(proc) and words in proc.stderr, proc.stderr


def test_a_fifo_scenario_or_trace_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "s.toml")
    os.mkfifo(tmp_path / "t.mmtrace")
    for args in (["run", "s.toml"], ["replay", "t.mmtrace"], ["minimize", "t.mmtrace", "-o", "o"]):
        proc = mmstress("harness", *args, cwd=tmp_path, marker=tmp_path / "unused", timeout=30)
        assert refused(proc) and "FIFO" in proc.stderr or "not a regular file" in proc.stderr, proc.stderr


def test_a_crafted_name_neither_steers_the_trace_path_nor_the_terminal_nor_the_xml(tmp_path):
    """name = "../<ESC>[2J<NUL>x": the auto-saved trace is a plain file in the working
    directory, the terminal gets escapes, not control characters, and the JUnit XML parses."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (tmp_path / "evil_name.toml").write_text(
        'name = "../../\\u001b[2J\\u0000x"\ncpus = 1\nops = 30\nworkload = "dfree.py"\n'
        '[allocator]\nslab = "slub"\n')
    (tmp_path / "dfree.py").write_text(EVIL[EVIL.index("from kernel_model"):])
    proc = mmstress("harness", "run", "../evil_name.toml", "--seed", "1", "--sched", "free",
                    "--junit", "r.xml", cwd=run_dir, marker=tmp_path / "unused")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    saved = [f for f in os.listdir(run_dir) if f.endswith(".mmtrace")]
    assert len(saved) == 1 and saved[0].startswith("mmstress-") and saved[0].endswith("x-seed1.mmtrace")
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".mmtrace")]     # nothing outside
    assert "\x1b" not in proc.stdout + proc.stderr and "\\x1b[2J" in proc.stdout
    root = ET.parse(run_dir / "r.xml").getroot()                       # parses: no raw \x1b, \x00
    assert "\\x1b" in root.find(".//testcase").get("name")


def test_repro_of_a_report_naming_the_bundle_never_runs_its_code(bundle):
    run = {"exit_code": 1, "sched": None, "source": str(bundle / "evil.toml"), "seed": 1, "cpus": 1,
           "violations": [{"kind": "double-free", "site": "evil_wl.py:9 (process)"}]}
    (bundle / "r.json").write_text(json.dumps({"tool": "mmstress", "runs": [run]}))
    marker = bundle / "MARKER"
    proc = mmstress("harness", "repro", "r.json", "--runs", "1", cwd=bundle, marker=marker)
    assert refused(proc) and "evil_wl.py" in proc.stderr and not marker.exists(), proc.stderr
    (bundle / "r.json").write_text(json.dumps({"tool": "mmstress", "runs": [dict(run, cpus="2")]}))
    proc = mmstress("harness", "repro", "r.json", cwd=bundle, marker=marker)
    assert refused(proc) and "not what mmstress run --json writes" in proc.stderr, proc.stderr
