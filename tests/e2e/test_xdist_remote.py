"""Sweeps across machines, on loopback: pytest-xdist over two execnet socket servers (issue 20).

Each server is execnet's own ``execnet/script/socketserver.py`` loop, started
with ``python -c`` in a temporary working directory of its own, on a free port
it picks itself (port 0, printed); nothing is shared with it beyond the
installed package (PYTHONPATH = this checkout, as an installed mmstress
would be).  ``pytest --mmstress`` and ``mmstress sweep --tx`` then run four
library scenarios x five seeds on both, named by library name (no
``--rsyncdir``, no path arguments), and every item must run, on both
gateways, with the verdict the local pool gives the same run.
"""

import json
import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from test_sweep import stale_segments

pytestmark = pytest.mark.slow           # servers, and 60 runs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = ["smoke", "larson", "bugs/lock_abba", "bugs/double_free"]
SEEDS, DURATION = "0-4", "100ms"
RUNS = len(SCENARIOS) * 5

SERVER = """
from execnet.script import socketserver as s
from execnet.gateway_base import get_execmodel
s.execmodel = get_execmodel("thread")
sock = s.bind_and_listen(("127.0.0.1", 0), s.execmodel)
print(sock.getsockname()[1], flush=True)
s.startserver(sock, loop=True)
"""


def clean_env():
    env = dict(os.environ, PYTHONPATH=ROOT)
    for name in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT",
                 "PYTEST_XDIST_TESTRUNUID", "PYTEST_CURRENT_TEST"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Two socket servers: [(tx spec, working directory)]; killed at the end."""
    procs, out = [], []
    try:
        for i in range(2):
            cwd = tmp_path_factory.mktemp(f"host{i}")
            log = open(cwd / "server.log", "w")
            procs.append(subprocess.Popen([sys.executable, "-c", SERVER], cwd=cwd, env=clean_env(),
                                          stdout=log, stderr=subprocess.STDOUT))
            log.close()
            deadline = time.monotonic() + 30
            while not (cwd / "server.log").read_text().strip():
                assert procs[-1].poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.05)
            port = int((cwd / "server.log").read_text().split()[0])
            out.append((f"socket=127.0.0.1:{port}", cwd))
        yield out
    finally:
        for p in procs:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The local pool's verdicts: {(scenario, seed): status}."""
    cwd = tmp_path_factory.mktemp("local")
    r = subprocess.run([sys.executable, "-m", "harness", "sweep", *SCENARIOS, "--seeds", SEEDS,
                        "--duration", DURATION, "-j", "2", "--json", "local.json", "--quiet"],
                       cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    doc = json.loads((cwd / "local.json").read_text())
    verdicts = {(run["scenario"], run["seed"]): run["status"] for run in doc["runs"]}
    assert len(verdicts) == RUNS and set(verdicts.values()) == {"passed", "violations"}
    return verdicts


def nothing_of_ours_copied(servers):
    """A server's directory holds its log and xdist's copy of pytest, nothing of mmstress."""
    for _spec, cwd in servers:
        names = {p.relative_to(cwd).parts[0] for p in cwd.iterdir()}
        assert names <= {"server.log", "pyexecnetcache"}, names
        cache = cwd / "pyexecnetcache"
        if cache.exists():
            assert {p.name for p in cache.iterdir()} <= {"pytest", "_pytest"}
        assert not [p for p in cwd.rglob("*") if p.suffix in (".toml", ".mmtrace")
                    or p.name in ("harness", "kernel_model", "scenarios")]


def test_pytest_items_run_on_both_gateways_with_the_local_verdicts(servers, local, tmp_path):
    before = stale_segments()
    tx = [a for spec, _ in servers for a in ("--tx", spec)]
    (tmp_path / "out.xml").write_text("")     # an existing path as an option's value: handed on
    r = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-m", "pytest",
                        "-p", "no:cacheprovider", "-p", "no:benchmark", "--mmstress", *SCENARIOS,
                        "--mmstress-seeds", SEEDS,
                        "--mmstress-duration", DURATION, *tx, "--dist", "load",
                        "--junitxml", "out.xml"],
                       cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "rsync" not in out and "DeprecationWarning" not in out and "INTERNALERROR" not in out
    cases = list(ET.parse(tmp_path / "out.xml").iter("testcase"))
    assert len(cases) == RUNS
    workers, ran = set(), {}
    for case in cases:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        workers.add(props["worker"])
        assert props["host"] == socket.gethostname() and int(props["host_cpus"]) >= 1
        name, seed = case.get("name").removesuffix("]").split("[seed=")
        failed = case.find("failure") is not None
        ran[(name, int(seed))] = "violations" if failed else "passed"
        # host-independent: the library name, never where the package is installed
        assert props["reproduce"].startswith(f"mmstress run {case.get('classname').replace('.', '/')} ")
    assert workers == {"gw0", "gw1"}
    assert ran == local
    for (name, seed), status in local.items():       # item ids: library names, on any host
        lib = next(n for n in SCENARIOS if n.split("/")[-1] == name)
        assert (f"FAILED {lib}::{name}[seed={seed}]" in r.stdout) == (status == "violations")
    nothing_of_ours_copied(servers)
    assert stale_segments() <= before


def test_sweep_tx_runs_on_both_gateways_with_the_local_verdicts(servers, local, tmp_path):
    before = stale_segments()
    tx = [a for spec, _ in servers for a in ("--tx", spec)]
    r = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-m", "harness", "sweep",
                        *SCENARIOS, "--seeds", SEEDS, "--duration", DURATION, *tx,
                        "--json", "sweep.json", "--junit", "sweep.xml"],
                       cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "rsync" not in out and "DeprecationWarning" not in out and "Traceback" not in out
    assert f"mmstress sweep: {RUNS} runs, on 2 xdist gateways" in r.stderr     # progress, as local
    doc = json.loads((tmp_path / "sweep.json").read_text())
    assert doc["counts"]["run"] == RUNS and doc["counts"]["not_run"] == 0
    assert doc["tx"] == [spec for spec, _ in servers]
    assert {(run["scenario"], run["seed"]): run["status"] for run in doc["runs"]} == local
    assert {run["host"]["worker"] for run in doc["runs"]} == {"gw0", "gw1"}
    assert {h["worker"] for h in doc["hosts"]} == {"gw0", "gw1"}
    assert sum(h["runs"] for h in doc["hosts"]) == RUNS
    assert all(h["name"] == socket.gethostname() for h in doc["hosts"])
    keys = {g["key"] for g in doc["groups"]}
    assert any(k.startswith("deadlock @ ") for k in keys) and len(doc["groups"]) >= 2
    for g in doc["groups"]:                        # one group per bug, whatever the gateway
        assert all(run["reproduce"].startswith(f"mmstress run bugs/{run['scenario']} ")
                   for run in g["runs"])
    cases = list(ET.parse(tmp_path / "sweep.xml").iter("testcase"))
    assert len(cases) == RUNS
    assert {p.get("value") for c in cases for p in c.iter("property") if p.get("name") == "worker"} \
        == {"gw0", "gw1"}
    assert f"{RUNS} of {RUNS} runs" in r.stdout and "on 2 xdist gateways" in r.stdout
    nothing_of_ours_copied(servers)
    assert stale_segments() <= before


@pytest.mark.parametrize("args, words", [
    (["mine"], "mine: a path given to remote workers (--tx socket=127.0.0.1:1) must be absolute"),
    (["larson", "-c", "mine/x.toml"], "mine/x.toml: pytest-xdist refuses existing paths in the "
                                      "arguments of remote workers (--tx socket=127.0.0.1:1)"),
])
def test_paths_xdist_would_refuse_are_usage_errors(tmp_path, args, words):
    """No server needed: the controller refuses before it connects."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "x.toml").write_text('cpus = 1\n')
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--mmstress", *args,
                        "--tx", "socket=127.0.0.1:1", "--dist", "load"],
                       cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 4, r.stdout + r.stderr
    assert words in r.stderr
    assert "INTERNALERROR" not in r.stdout + r.stderr and "rsync root" not in r.stdout + r.stderr


@pytest.mark.parametrize("args, words", [
    (["--tx", "socket=127.0.0.1:1"], "pytest-xdist could not run the sweep:"),
    (["--tx", "popen", "-j", "2"], "-j 2 with --tx: -j is the local pool"),
])
def test_sweep_tx_bad_input_is_exit_2(tmp_path, args, words):
    r = subprocess.run([sys.executable, "-m", "harness", "sweep", "smoke", "--seeds", "0",
                        "--duration", DURATION, *args],
                       cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert words in r.stderr and "Traceback" not in r.stderr


def test_sweep_tx_budget_stops_handing_out_runs(tmp_path):
    """--budget with --tx: after the budget no run is handed out (a local popen gateway is enough);
    the runs not started are not run, not failures."""
    r = subprocess.run([sys.executable, "-m", "harness", "sweep", "smoke", "--seeds", "0-5",
                        "--duration", DURATION, "--tx", "popen", "--budget", "1ms", "--json", "b.json"],
                       cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads((tmp_path / "b.json").read_text())
    c = doc["counts"]
    assert 1 <= c["run"] < 6 and c["not_run"] == 6 - c["run"] and c["failed"] == 0
    assert "not run (budget reached)" in r.stdout and "on 1 xdist gateway:" in r.stdout


def test_worker_run_works_off_the_main_thread():
    """An execnet socket server's ``thread`` model may run a worker on any thread; a run installs
    signal handlers, which only a main thread may: the worker forks the run (as the local pool)."""
    import threading
    from harness import scenario
    from harness.tools import sweep_xdist
    from harness.tools.run import RunSettings
    sc = scenario.resolve("bugs/double_free")
    out = []
    payload = sweep_xdist.payload({}, RunSettings(irq_mask="sigmask"))   # overrides: at collection
    t = threading.Thread(target=lambda: out.append(sweep_xdist.worker_run(sc, 3, payload, "gw7")))
    t.start()
    t.join(120)
    code, run, log = out[0]
    assert code == 1 and run["status"] == "violations", log
    assert run["host"]["worker"] == "gw7" and run["seed"] == 3
    assert run["reproduce"] == ("mmstress run bugs/double_free --seed 3 --cpus 1 --ops 300 "
                                "--irq-mask sigmask")           # the settings reached the run
