"""mmstress sweep: a clean sweep, a failing sweep, bad input, Ctrl-C (seed lists and the
failure text: tests/harness/test_sweep_units.py).

Sweeps run as ``python -m harness sweep`` subprocesses over short scenario
copies in tmp_path (300 ms runs).  Nothing here asserts timing.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import psutil
import pytest

pytestmark = pytest.mark.slow           # every test runs whole sweeps

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHM = "/dev/shm"

CLEAN = """description = "ci test: clean pages"
cpus = 2
duration = "300ms"

[memory]
size = "32M"

[interrupts]
rate = 0

[process]
max_held = 32
free = 0.5
ops = [ { op = "alloc_pages", order = "0..2" } ]
"""

# A user bug every run shows: GFP_KERNEL in a hardirq (sleep-in-atomic).
BUG = """description = "ci test: GFP_KERNEL in a hardirq"
cpus = 2
duration = "300ms"

[memory]
size = "32M"

[interrupts]
rate = 500

[process]
max_held = 16
ops = [ { op = "alloc_pages", order = 0 } ]

[hardirq]
max_held = 4
ops = [ { op = "alloc_pages", order = 0, gfp = "GFP_KERNEL" } ]
"""


def stale_segments():
    """Arena segments whose creating process is gone (left behind)."""
    out = set()
    for name in os.listdir(SHM) if os.path.isdir(SHM) else []:
        parts = name.split("_")
        if name.startswith("mmstress_") and len(parts) > 2 and parts[1].isdigit():
            if not psutil.pid_exists(int(parts[1])):
                out.add(name)
    return out


def sweep(tmp_path, *args, timeout=120):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "harness", "sweep", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "clean.toml").write_text(CLEAN)
    (tmp_path / "bug.toml").write_text(BUG)
    return tmp_path


# --- sweeps ----------------------------------------------------------------------------------------
def test_clean_sweep_exits_0_with_json_and_junit(files):
    before = stale_segments()
    r = sweep(files, "clean.toml", "--seeds", "0-2", "-j", "2", "--json", "s.json", "--junit", "s.xml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed" in r.stdout and "Traceback" not in r.stderr
    doc = json.loads((files / "s.json").read_text())
    assert doc["kind"] == "sweep" and doc["exit_code"] == 0
    assert doc["counts"]["passed"] == 3 and doc["counts"]["not_run"] == 0
    assert sorted(run["seed"] for run in doc["runs"]) == [0, 1, 2]
    assert all(run["reproduce"].startswith("mmstress run clean.toml --seed ") for run in doc["runs"])
    suite = ET.parse(files / "s.xml").getroot().find("testsuite")
    names = sorted(c.get("name") for c in suite.iter("testcase"))
    assert names == ["clean[seed=0]", "clean[seed=1]", "clean[seed=2]"]
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    # the local pool: no gateways, one host entry (this machine, no xdist worker)
    assert doc["tx"] == [] and "with -j 2" in r.stdout and "xdist" not in r.stdout + r.stderr
    assert doc["hosts"] == [{"worker": None, "name": socket.gethostname(),
                             "cpus": len(os.sched_getaffinity(0)), "runs": 3, "failing": 0}]
    props = {p.get("name") for p in suite.iter("property")}
    assert props == {"host", "host_cpus"}
    assert stale_segments() <= before


def test_failing_sweep_exits_1_listing_seeds_with_reproduce_commands(files):
    r = sweep(files, "bug.toml", "clean.toml", "--seeds", "0-1", "-j", "2",
              "--json", "s.json", "--junit", "s.xml")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "2 passed, 2 with violations" in r.stdout
    assert "sleep-in-atomic: BUG: sleeping function called from invalid context" in r.stdout
    for seed in (0, 1):
        assert f"seed {seed}: mmstress run bug.toml --seed {seed} --cpus 2 --duration 300ms" in r.stdout
    assert "FAIL bug seed" in r.stderr                       # the progress lines name them too
    doc = json.loads((files / "s.json").read_text())
    assert doc["exit_code"] == 1
    group = next(g for g in doc["groups"] if g["kind"] == "sleep-in-atomic")
    assert sorted(x["seed"] for x in group["runs"]) == [0, 1]
    failing = [run for run in doc["runs"] if run["status"] == "violations"]
    assert {run["scenario"] for run in failing} == {"bug"} and all(run["violations"] for run in failing)
    suite = ET.parse(files / "s.xml").getroot().find("testsuite")
    assert suite.get("tests") == "4" and suite.get("failures") == "2"
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert sorted(failed) == ["bug[seed=0]", "bug[seed=1]"]


@pytest.mark.parametrize("args, words", [
    (["clean.toml", "--seeds", "9-1"], "--seeds 9-1: '9-1': the range ends before it starts"),
    (["nothere.toml"], "nothere.toml: no such scenario file"),
    (["clean.toml", "-j", "0"], "-j 0: allowed"),
    (["clean.toml", "--duration", "soon"], "--duration 'soon'"),
    (["clean.toml", "--budget", "x"], "--budget 'x'"),
    (["bad.toml"], "bad.toml:2: durration: unknown key"),
])
def test_bad_input_is_one_clear_message(files, args, words):
    (files / "bad.toml").write_text('cpus = 2\ndurration = "1s"\n')
    r = sweep(files, *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert words in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_ctrl_c_stops_cleanly_and_writes_the_partial_report(files):
    (files / "long.toml").write_text(CLEAN.replace('duration = "300ms"', 'duration = "20s"'))
    before = stale_segments()
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen([sys.executable, "-m", "harness", "sweep", "long.toml", "--seeds", "0-9",
                          "-j", "2", "--json", "s.json"], cwd=files, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stderr.readline()                         # "mmstress sweep: 10 runs, 2 at a time"
        assert "10 runs, 2 at a time" in line
        proc = psutil.Process(p.pid)
        runners = []
        deadline = time.monotonic() + 60                   # wait until the runners' CPUs exist
        while len(runners) < 2:
            assert time.monotonic() < deadline, "the sweep never started two runs with their CPUs"
            time.sleep(0.05)
            runners = [c for c in proc.children() if c.children()]
        family = runners + [g for c in runners for g in c.children(recursive=True)]
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130, out + err
    assert "interrupted by SIGINT; partial report written" in err and "Traceback" not in err
    doc = json.loads((files / "s.json").read_text())
    assert doc["interrupted"] == "SIGINT" and doc["counts"]["not_run"] >= 8
    psutil.wait_procs(family, timeout=10)
    assert not [q.pid for q in family if q.is_running() and q.status() != psutil.STATUS_ZOMBIE]
    assert stale_segments() <= before
