"""Nothing is lost: a workload that raises, spins forever, a CPU SIGKILLed, Ctrl-C, SIGTERM.

Each case ends with a report (partial JSON written), the right exit code, no
child process and no /dev/shm segment left behind.
"""

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from shm_segments import own_segments
from harness.cli import main
from harness.exits import EXIT_HARNESS, EXIT_VIOLATIONS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _children():
    return {p.pid for p in psutil.Process().children(recursive=True)
            if "resource_tracker" not in " ".join(p.cmdline() or [])}


def _scenario(tmp_path, monkeypatch, name, code, extra=""):
    (tmp_path / f"{name}.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / f"{name}.toml"
    path.write_text(f'description = "{name}"\ncpus = 2\nduration = "1s"\nworkload = "{name}"\n'
                    f'[memory]\nsize = "32M"\n{extra}')
    return str(path)


def _run(path, tmp_path):
    out = tmp_path / "report.json"
    before = _children()
    code = main(["run", path, "--seed", "1", "--quiet", "--json", str(out)])
    assert _children() <= before, "a CPU process was left behind"
    assert own_segments() == [], "a /dev/shm segment was left behind"
    doc = json.loads(out.read_text())
    assert doc["exit_code"] == code
    return code, doc["runs"][0]


RAISES = """
from kernel_model.gfp import GFP_ATOMIC, GFP_KERNEL
n = 0
def process(k):
    global n
    n += 1
    page = k.alloc_pages(GFP_KERNEL, 0)
    k.__free_pages(page, 0)
    if n == 20:
        raise RuntimeError("planted bug in process context")
def hardirq(k):
    raise ZeroDivisionError("planted bug in a hardirq")
"""


def test_workload_that_raises_is_a_reported_failure_of_that_cpu_and_context(tmp_path, monkeypatch):
    code, run = _run(_scenario(tmp_path, monkeypatch, "wl_raises", RAISES), tmp_path)
    assert code == EXIT_VIOLATIONS
    got = {(f["cpu"], f["context"]) for f in run["failures"]}
    assert got == {(0, "process"), (1, "process"), (0, "hardirq"), (1, "hardirq")}
    proc = next(f for f in run["failures"] if f["context"] == "process")
    assert "planted bug in process context" in proc["traceback"] and "wl_raises.py" in proc["traceback"]
    assert run["interrupts"]["delivered"] >= 2           # the CPUs kept running after the oops


SPINS = """
def process(k):
    if k.cpu == 1:
        while True:
            pass
"""


def test_workload_that_spins_forever_is_a_soft_lockup(tmp_path, monkeypatch):
    path = _scenario(tmp_path, monkeypatch, "wl_spins", SPINS, '[watchdog]\nthresh = "500ms"\n')
    code, run = _run(path, tmp_path)
    assert code == EXIT_VIOLATIONS                       # the workload's lockup, not the harness's
    lock = [f for f in run["failures"] if f["kind"] == "soft-lockup"]
    assert len(lock) == 1 and lock[0]["cpu"] == 1
    assert lock[0]["message"].startswith("watchdog: BUG: soft lockup - CPU#1 stuck for")
    assert "process work" in lock[0]["doing"] and "wl_spins.py" in lock[0]["traceback"]
    assert run["violations"][0]["kind"] == "soft-lockup"
    site = run["violations"][0]["site"]                  # the workload frame it was stuck in
    assert "wl_spins.py:3 (process)" in site or "wl_spins.py:4 (process)" in site


KILLED = """
import os, signal
n = 0
def process(k):
    global n
    n += 1
    if k.cpu == 1 and n == 200:
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_cpu_killed_with_sigkill(tmp_path, monkeypatch):
    code, run = _run(_scenario(tmp_path, monkeypatch, "wl_killed", KILLED), tmp_path)
    assert code == EXIT_HARNESS
    died = [f for f in run["failures"] if f["kind"] == "cpu-died"]
    assert len(died) == 1 and died[0]["cpu"] == 1 and "SIGKILL" in died[0]["message"]
    assert run["ops"]["by_cpu"][1]["contexts"]["process"]["calls"] >= 199   # counted before it died


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_to_the_machine_stops_with_a_partial_report(tmp_path, sig, code):
    out = tmp_path / "partial.json"
    junit = tmp_path / "partial.xml"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", "--duration", "60s", "--seed",
                             "2", "--json", str(out), "--junit", str(junit)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    machine = psutil.Process(proc.pid)
    deadline = time.monotonic() + 20
    cpus = []
    while time.monotonic() < deadline and len(cpus) < 2:
        cpus = [c for c in machine.children() if "resource_tracker" not in " ".join(c.cmdline())]
        time.sleep(0.05)
    assert len(cpus) == 2
    time.sleep(0.5)
    proc.send_signal(sig)
    assert proc.wait(30) == code, proc.stderr.read().decode()
    assert not [c for c in cpus if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not [n for n in os.listdir("/dev/shm") if n.startswith(f"mmstress_{proc.pid}_")]
    doc = json.loads(out.read_text())
    assert doc["exit_code"] == code and doc["interrupted"] == sig.name
    run = doc["runs"][0]
    assert run["status"] == "interrupted" and run["ops"]["total"] > 0
    assert "<skipped" in junit.read_text()


VMALLOC_RW = """
from kernel_model.gfp import GFP_KERNEL
def process(k):
    a = k.vmalloc(3 * 4096)
    k.write(a + 4000, b"v" * 200)                 # crosses into the next (scattered) page
    assert k.read(a + 4000, 200) == b"v" * 200
    k.vfree(a)
"""


def test_workloads_read_and_write_vmalloc_memory_across_pages(tmp_path, monkeypatch):
    code, run = _run(_scenario(tmp_path, monkeypatch, "wl_vmalloc_rw", VMALLOC_RW,
                               '[allocator]\nslab = "slub"\n'), tmp_path)
    assert code == 0, run["failures"] or run["violations"]
    assert run["ops"]["by_context"]["process"] > 0
