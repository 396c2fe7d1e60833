"""The pytest plugin (harness/pytest_plugin.py): ``pytest --mmstress`` over scenario files.

Each test starts a real pytest in a subprocess inside tmp_path, as a user
would, so the ``pytest11`` entry point, xdist's workers and the machine's own
CPU processes are all the real ones.  Scenario copies run 300 ms.  The
planted-bug scenario here is a user bug every run shows (GFP_KERNEL in a
hardirq): scenarios/bugs/zone_lock_missing.toml is a race that a short run
catches on only some seeds, which would make these tests flaky.
"""

import importlib.metadata
import os
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.slow           # every test runs pytest in a subprocess

from test_sweep import BUG, CLEAN, stale_segments

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pytest_run(cwd, *args, timeout=180):
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def counts(out):
    """{"passed": n, "failed": n, ...} from pytest's last line."""
    last = out.strip().splitlines()[-1]
    return {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|error|errors|deselected)", last)}


@pytest.fixture
def lib(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "clean.toml").write_text(CLEAN)
    (tmp_path / "bugs").mkdir()
    (tmp_path / "bugs" / "bug.toml").write_text(BUG.replace('description', 'expect = ["sleep-in-atomic"]\n'
                                                                          'description'))
    return tmp_path


def test_entry_point_registered():
    eps = importlib.metadata.entry_points(group="pytest11")
    assert [ep.value for ep in eps if ep.name == "mmstress"] == ["harness.pytest_plugin"]


def test_clean_library_passes_one_item_per_seed(lib):
    before = stale_segments()
    r = pytest_run(lib, "--mmstress", "lib", "--mmstress-seeds", "0-2", "-v")
    assert r.returncode == 0, r.stdout + r.stderr
    assert counts(r.stdout) == {"passed": 3}
    for seed in range(3):
        assert f"lib/clean.toml::clean[seed={seed}] PASSED" in r.stdout
    assert "mmstress: seeds 0-2 (3 per scenario)" in r.stdout
    assert stale_segments() <= before


def test_planted_bug_fails_with_the_splat_and_the_reproduce_command(lib):
    r = pytest_run(lib, "--mmstress", "lib", "bugs", "--mmstress-seeds", "0,5")
    assert r.returncode == 1, r.stdout + r.stderr
    assert counts(r.stdout) == {"passed": 2, "failed": 2}
    assert "BUG: sleeping function called from invalid context" in r.stdout
    for seed in (0, 5):
        assert f"reproduce: mmstress run bugs/bug.toml --seed {seed} --cpus 2 --duration 300ms" in r.stdout
        assert f"FAILED bugs/bug.toml::bug[seed={seed}]" in r.stdout
    assert "Traceback" not in r.stdout and "def runtest" not in r.stdout
    groups = r.stdout.split("mmstress: failing runs by bug (kind @ workload site)")[1]
    assert "sleep-in-atomic @ bugs/bug.toml:" in groups and "(2 runs)" in groups   # one bug, one group
    assert groups.count(" @ ") == 1


def test_planted_marker_and_junit_reproduce_property(lib):
    r = pytest_run(lib, "--mmstress", "lib", "bugs", "--mmstress-seeds", "1",
                   "-m", "not mmstress_planted", "--junitxml", "out.xml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert counts(r.stdout) == {"passed": 1, "deselected": 1}
    props = {p.get("name"): p.get("value") for p in ET.parse(lib / "out.xml").iter("property")}
    assert props == {"reproduce": "mmstress run lib/clean.toml --seed 1 --cpus 2 --duration 300ms",
                     "host": socket.gethostname(), "host_cpus": str(len(os.sched_getaffinity(0)))}
    # no "worker" property: this run was not on a pytest-xdist worker


def test_duration_override_reaches_the_run(lib):
    r = pytest_run(lib, "--mmstress", "bugs", "--mmstress-seeds", "3", "--mmstress-duration", "200ms")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "reproduce: mmstress run bugs/bug.toml --seed 3 --cpus 2 --duration 200ms" in r.stdout


@pytest.mark.parametrize("xdist", [["-n", "2"], ["--tx", "2*popen", "--dist", "load"]],
                         ids=["n2", "tx-popen"])
def test_xdist_workers_collect_the_same_items(lib, xdist):
    before = stale_segments()
    r = pytest_run(lib, "--mmstress", "lib", "bugs", "--mmstress-seeds", "0-1", *xdist)
    assert r.returncode == 1, r.stdout + r.stderr
    assert counts(r.stdout) == {"passed": 2, "failed": 2}
    assert "Different tests were collected" not in r.stdout + r.stderr
    assert "reproduce: mmstress run bugs/bug.toml --seed 1 --cpus 2 --duration 300ms" in r.stdout
    assert stale_segments() <= before


def test_bad_scenario_is_a_collection_error_naming_file_line_key(lib):
    (lib / "lib" / "typo.toml").write_text('cpus = 2\n\n[memory]\nsize = "64M"\npage_sise = 4096\n')
    r = pytest_run(lib, "--mmstress", "lib")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "ERROR collecting lib/typo.toml" in r.stdout
    assert "lib/typo.toml:5: memory.page_sise: unknown key; allowed here:" in r.stdout
    assert "Traceback" not in r.stdout and "scenario.py" not in r.stdout


def test_without_mmstress_toml_files_are_not_collected(lib):
    (lib / "lib" / "test_plain.py").write_text("def test_ok():\n    assert True\n")
    r = pytest_run(lib, "lib")
    assert r.returncode == 0, r.stdout + r.stderr
    assert counts(r.stdout) == {"passed": 1}
    r = pytest_run(lib, "--mmstress", "lib", "--mmstress-seeds", "0")
    assert counts(r.stdout) == {"passed": 2}                # the .py test and one scenario item


@pytest.mark.parametrize("args, words", [
    (["--mmstress", "--mmstress-seeds", "3-1"], "--mmstress-seeds 3-1: '3-1': the range ends before"),
    (["--mmstress", "--mmstress-duration", "later"], "--mmstress-duration 'later': allowed"),
    (["--mmstress-seeds", "0-3"], "--mmstress-seeds and --mmstress-duration need --mmstress"),
])
def test_bad_options_are_usage_errors(lib, args, words):
    r = pytest_run(lib, *args, "lib")
    assert r.returncode == 4, r.stdout + r.stderr
    assert words in r.stderr and "Traceback" not in r.stderr


def test_regression_traces_are_items_that_replay(tmp_path):
    """Each .mmtrace is one item: the shipped ci/regressions traces pass; a trace whose
    recorded outcome no longer comes out fails, saying so, with no traceback."""
    import shutil
    from harness.scheduler.trace import Trace
    traces = tmp_path / "regressions"
    shutil.copytree(os.path.join(ROOT, "ci", "regressions"), traces)
    r = pytest_run(tmp_path, "--mmstress", "regressions")
    shipped = [f for f in os.listdir(traces) if f.endswith(".mmtrace")]
    assert counts(r.stdout).get("passed") == len(shipped), r.stdout[-3000:]
    t = Trace.load(str(traces / "lock-abba.mmtrace"))
    t.header["kinds"] = []                      # pretend the recording was clean
    t.save(str(traces / "lock-abba.mmtrace"))
    r = pytest_run(tmp_path, "--mmstress", "regressions")
    assert counts(r.stdout).get("failed") == 1, r.stdout[-3000:]
    assert "did not reproduce the recording" in r.stdout and "Traceback" not in r.stdout


def test_library_scenarios_by_name_have_host_independent_ids(tmp_path):
    """``pytest --mmstress larson bugs/lock_abba``: the installed files, items named by the name
    (not where the package is installed), ``NAME::ITEM`` selects one; a typo is a usage error."""
    r = pytest_run(tmp_path, "--mmstress", "larson", "bugs/lock_abba::lock_abba[seed=1]",
                   "--mmstress-seeds", "0-1", "--collect-only", "-q")
    assert r.returncode == 0, r.stdout + r.stderr
    ids = [ln for ln in r.stdout.splitlines() if "[seed=" in ln]
    assert ids == ["larson::larson[seed=0]", "larson::larson[seed=1]",
                   "bugs/lock_abba::lock_abba[seed=1]"]
    r = pytest_run(tmp_path, "--mmstress", "larsen")
    assert r.returncode == 4, r.stdout + r.stderr
    assert "larsen: no such file or directory, nor a library scenario (`mmstress list`: smoke," in r.stderr
    assert "Traceback" not in r.stderr
