"""Signals, output paths and resources around a run (issue 15): what the matrix does not cover.

* CPUs run in process groups of their own and ignore SIGINT/SIGTERM: a
  SIGTERM sent to a CPU changes nothing, and what a workload spawned is
  killed with its CPU's group at the end.
* Report paths are checked before anything runs: ``--json /missing/dir/r.json``
  exits 2 naming the path and the reason, with no CPU started.
* A trace that cannot be saved leaves its run in the JSON report.
* A reader that goes away (``| head -1``) ends the output quietly: no
  traceback, the command's own exit code.
* /dev/shm with too little space is exit 2 naming both sizes, before any
  segment exists (statvfs faked: /dev/shm is never filled here).

The signal matrix itself is tests/e2e/test_signals_matrix.py.
"""

import dataclasses
import errno
import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from shm_segments import own_segments
from harness.cli import ReaderGone, build_parser, main
from harness.outputs import destination

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _env(*extra):
    return dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, *map(str, extra)]))


def _cli(args, cwd, extra=(), **kw):
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=_env(*extra),
                          capture_output=True, text=True, timeout=120, **kw)


# --- CPUs: own process groups, deaf to SIGINT/SIGTERM, their spawn killed with them --------------
SPAWNS = '''
import os, subprocess, sys
OUT = {out!r}
def setup(k):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open(os.path.join(OUT, f"cpu{{k.cpu}}.tmp"), "w") as f:
        f.write(f"{{os.getpid()}} {{os.getpgid(0)}} {{child.pid}}")
    os.replace(os.path.join(OUT, f"cpu{{k.cpu}}.tmp"), os.path.join(OUT, f"cpu{{k.cpu}}"))
def process(k):
    page = k.alloc_pages(0, 0)
    if page is not None:
        k.__free_pages(page, 0)
'''


def _spawning_scenario(tmp_path, duration="300ms"):
    (tmp_path / "spawns.py").write_text(SPAWNS.format(out=str(tmp_path)))
    path = tmp_path / "spawns.toml"
    path.write_text(f'description = "spawns a child per CPU"\ncpus = 2\nduration = "{duration}"\n'
                    'workload = "spawns"\n[memory]\nsize = "32M"\n[interrupts]\nrate = 0\n')
    return str(path)


def test_each_cpu_has_its_own_group_and_what_it_spawned_dies_with_it(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    path = _spawning_scenario(tmp_path)
    code = main(["run", path, "--seed", "1", "--quiet", "--json", str(tmp_path / "r.json")])
    assert code == 0
    spawned = []
    for cpu in (0, 1):
        pid, pgid, child = map(int, (tmp_path / f"cpu{cpu}").read_text().split())
        assert pgid == pid != os.getpgid(0), "a CPU must lead a process group of its own"
        spawned.append(child)
    gone, alive = psutil.wait_procs([psutil.Process(p) for p in spawned if psutil.pid_exists(p)],
                                    timeout=5)
    left = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    for p in left:                                       # leave nothing behind, even failing
        p.kill()
    assert not left, "a process the workload spawned outlived the run"
    assert own_segments() == []


def test_a_sigterm_to_a_cpu_is_ignored_and_the_run_ends_clean(tmp_path):
    path = _spawning_scenario(tmp_path, duration="1500ms")
    out = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", path, "--seed", "1",
                             "--json", str(out)], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not all((tmp_path / f"cpu{c}").exists() for c in (0, 1)):
        assert time.monotonic() < deadline and proc.poll() is None, "the CPUs never started"
        time.sleep(0.02)
    for c in (0, 1):
        cpu_pid = int((tmp_path / f"cpu{c}").read_text().split()[0])
        os.kill(cpu_pid, signal.SIGTERM)
        os.kill(cpu_pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    run = json.loads(out.read_text())["runs"][0]
    assert run["status"] == "passed" and run["failures"] == []


# --- a stop requested before the run booted ---------------------------------------------------------
def test_a_stop_before_the_boot_is_a_schema_valid_report_of_an_interrupted_run(tmp_path, capsys):
    import jsonschema
    from harness import scenario, signals
    from harness.outputs.report import SCHEMA_PATH
    from harness.tools import run
    restore = signals.catch()
    try:
        signals.request(signal.SIGTERM)              # as if it came during the imports
        settings = run.RunSettings(json=str(tmp_path / "r.json"), junit=str(tmp_path / "r.xml"))
        code = run.run_scenarios([scenario.resolve("smoke")], 1, settings)
    finally:
        restore()
    out, err = capsys.readouterr()
    assert code == 143 and "interrupted by SIGTERM; partial report written" in err
    assert "== smoke: interrupted" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    with open(SCHEMA_PATH) as f:
        jsonschema.validate(doc, json.load(f))
    assert doc["interrupted"] == "SIGTERM" and doc["exit_code"] == 143
    assert [(r["status"], r["ops"]["total"]) for r in doc["runs"]] == [("interrupted", 0)]
    assert "<skipped" in (tmp_path / "r.xml").read_text() and own_segments() == []


def test_without_a_stop_the_same_run_is_complete(tmp_path, capsys):
    from harness import scenario
    from harness.tools import run
    settings = run.RunSettings(json=str(tmp_path / "r.json"), quiet=True)
    sc = dataclasses.replace(scenario.resolve("smoke"), ops=20, duration=None)
    assert run.run_scenarios([sc], 1, settings) == 0
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["interrupted"] is None and doc["runs"][0]["status"] == "passed"
    assert doc["runs"][0]["ops"]["total"] > 0


def test_a_sigkill_of_the_machines_group_takes_the_cpus_and_their_spawn(tmp_path):
    path = _spawning_scenario(tmp_path, duration="20s")
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", path, "--seed", "1"],
                            cwd=tmp_path, env=_env(tmp_path), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not all((tmp_path / f"cpu{c}").exists() for c in (0, 1)):
        assert time.monotonic() < deadline and proc.poll() is None, "the CPUs never started"
        time.sleep(0.02)
    pids = [int(x) for c in (0, 1) for x in (tmp_path / f"cpu{c}").read_text().split()[::2]]
    os.killpg(proc.pid, signal.SIGKILL)                  # what a CI runner's kill -9 does
    proc.wait()
    procs = [psutil.Process(p) for p in pids if psutil.pid_exists(p)]
    _, alive = psutil.wait_procs(procs, timeout=10)
    left = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    for p in left:                                       # leave nothing behind, even failing
        p.kill()
    assert not left, "a CPU or what its workload spawned outlived the SIGKILLed machine"
    from harness.tools import leftovers                  # its segment: the next run's to remove
    leftovers.remove([(p, pid) for p, pid in leftovers.stale_segments() if pid == proc.pid])


# --- report paths, checked before the run ---------------------------------------------------------
def test_json_into_a_missing_directory_exits_2_naming_it_before_anything_runs(tmp_path):
    t0 = time.monotonic()
    r = _cli(["run", "--json", "/missing/dir/r.json"], tmp_path)
    took = time.monotonic() - t0
    assert r.returncode == 2, r.stderr
    assert "argument --json: /missing/dir/r.json: no such directory /missing/dir" in r.stderr
    assert "Traceback" not in r.stderr and "repeat with --seed" not in r.stderr, "the run started"
    print(f"--json /missing/dir/r.json: exit 2 after {took:.2f}s")   # measured, not asserted


@pytest.mark.parametrize("argv", [
    ["run", "--json", "{bad}"], ["run", "--junit", "{bad}"], ["run", "--trace", "{bad}"],
    ["replay", "t.mmtrace", "--json", "{bad}"], ["replay", "t.mmtrace", "--junit", "{bad}"],
    ["minimize", "t.mmtrace", "-o", "{bad}"], ["minimize", "t.mmtrace", "-o", "m", "--json", "{bad}"],
    ["sweep", "smoke", "--json", "{bad}"], ["sweep", "smoke", "--junit", "{bad}"],
])
@pytest.mark.parametrize("why", ["missing", "file-as-folder", "folder"])
def test_every_report_option_refuses_a_path_it_cannot_write(tmp_path, capsys, argv, why):
    (tmp_path / "afile").write_text("x")
    bad = {"missing": tmp_path / "nope" / "r.out", "file-as-folder": tmp_path / "afile" / "r.out",
           "folder": tmp_path}[why]
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([a.format(bad=bad) for a in argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert str(bad) in err and {"missing": "no such directory", "file-as-folder": "is not a directory",
                                "folder": "is a directory"}[why] in err


def test_the_early_scan_sees_both_spellings_and_passes_good_paths(tmp_path):
    bad, good = str(tmp_path / "no" / "r.json"), str(tmp_path / "r.json")
    assert destination.scan(["smoke", "--json", bad])[0] == "--json"
    assert destination.scan([f"--junit={bad}"]) == ("--junit", f"{bad}: no such directory "
                                                   f"{tmp_path / 'no'}")
    assert destination.scan(["t.mmtrace", "-o", good, "--json", good, "--html", good]) is None
    assert destination.scan(["--json"]) is None           # argparse says what is missing


def test_a_writable_path_is_taken_as_given(tmp_path):
    for p in (tmp_path / "r.json", tmp_path / "exists.json"):
        assert destination.writable(str(p)) == str(p)
    (tmp_path / "exists.json").write_text("{}")
    assert destination.problem(str(tmp_path / "exists.json")) is None
    args = build_parser().parse_args(["run", "--json", str(tmp_path / "r.json")])
    assert args.json == str(tmp_path / "r.json")


def test_a_trace_that_cannot_be_saved_keeps_the_run_in_the_json(tmp_path, monkeypatch, capsys):
    from harness.outputs import recording

    def full_disk(result, path):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(recording, "save", full_disk)
    out = tmp_path / "r.json"
    code = main(["run", "smoke", "--seed", "1", "--ops", "5", "--sched", "random", "--quiet",
                 "--trace", str(tmp_path / "t.mmtrace"), "--json", str(out)])
    assert code == 0
    assert "--trace" in capsys.readouterr().err
    doc = json.loads(out.read_text())
    run = doc["runs"][0]
    assert doc["exit_code"] == 0 and run["status"] == "passed"
    assert "No space left on device" in run["sched"]["trace_error"] and run["sched"]["trace"] is None


def test_a_saved_trace_has_no_trace_error(tmp_path):
    out = tmp_path / "r.json"
    assert main(["run", "smoke", "--seed", "1", "--ops", "5", "--sched", "random", "--quiet",
                 "--trace", str(tmp_path / "t.mmtrace"), "--json", str(out)]) == 0
    sched = json.loads(out.read_text())["runs"][0]["sched"]
    assert "trace_error" not in sched and sched["trace"] == str(tmp_path / "t.mmtrace")


# --- a reader that goes away ----------------------------------------------------------------------
def _closed_pipe_run(args, cwd):
    """Run mmstress with stdout a pipe whose reader is gone before the first write."""
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=_env(),
                           stdout=w, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(w)
    return p


@pytest.mark.parametrize("args", [
    ["run", "smoke", "--seed", "1", "--ops", "20"],
    ["list"],
    ["explain", "double-free"],
    ["sweep", "smoke", "--seeds", "0", "--ops", "10", "-j", "1"],
])
def test_a_closed_stdout_pipe_exits_quietly_with_the_commands_own_code(tmp_path, args):
    want = subprocess.run([sys.executable, "-m", "harness", *args], cwd=tmp_path, env=_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert want.stdout, "the command prints something (else this tests nothing)"
    got = _closed_pipe_run(args, tmp_path)
    assert got.returncode == want.returncode, got.stderr
    assert "Traceback" not in got.stderr and "BrokenPipe" not in got.stderr, got.stderr


def test_reader_gone_sends_the_rest_to_devnull_and_is_silent_while_the_reader_reads():
    r, w = os.pipe()
    stream = ReaderGone(os.fdopen(w, "w"))
    stream.write("read by the reader\n")
    stream.flush()
    assert os.read(r, 100) == b"read by the reader\n"
    assert os.readlink(f"/proc/self/fd/{w}") != os.devnull        # the good path: untouched
    os.close(r)
    stream.write("x" * 100_000)                                    # the reader is gone: EPIPE
    stream.flush()
    assert os.readlink(f"/proc/self/fd/{w}") == os.devnull
    stream.write("more\n")
    stream.flush()
    stream.close()


# --- /dev/shm free space --------------------------------------------------------------------------
class _Statvfs:
    def __init__(self, free):
        self.f_bavail, self.f_frsize = free // 4096, 4096


def test_too_little_space_in_dev_shm_is_exit_2_before_any_segment(tmp_path, monkeypatch, capsys):
    real = os.statvfs
    monkeypatch.setattr(os, "statvfs", lambda p: _Statvfs(8 << 20) if p == "/dev/shm" else real(p))
    out = tmp_path / "r.json"
    code = main(["run", "smoke", "--seed", "1", "--ops", "5", "--quiet", "--json", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "/dev/shm has 8.0 MiB free, the arena needs" in err and "mmstress clean" in err
    assert "smoke.toml" in err and own_segments() == []


def test_enough_space_in_dev_shm_says_nothing(monkeypatch):
    from kernel_model import arena
    monkeypatch.setattr(os, "statvfs", lambda p: _Statvfs(64 << 20))
    arena.check_space(64 << 20)                      # exactly enough: silent
    with pytest.raises(arena.ArenaSpaceError, match="has 64.0 MiB free, the arena needs 64.0 MiB"):
        arena.check_space((64 << 20) + 4096)


# --- leftovers of SIGKILL: the next run removes them ----------------------------------------------
def _gone_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_the_next_boot_removes_a_segment_whose_owner_is_gone():
    import kernel_model as km
    stale = f"/dev/shm/mmstress_{_gone_pid()}_signalstest"
    with open(stale, "wb") as f:
        f.write(b"x" * 4096)
    try:
        with km.boot(total="32M"):
            assert not os.path.exists(stale)
    finally:
        if os.path.exists(stale):
            os.unlink(stale)


def test_a_sigkilled_sweep_leaves_a_folder_the_next_sweep_removes(tmp_path):
    (tmp_path / "long.toml").write_text('description = "long"\ncpus = 1\nduration = "20s"\n'
                                        '[memory]\nsize = "32M"\n[interrupts]\nrate = 0\n'
                                        '[process]\nops = [ { op = "alloc_pages", order = 0 } ]\n')
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(_env(), TMPDIR=str(tmp))
    p = subprocess.Popen([sys.executable, "-m", "harness", "sweep", "long.toml", "--seeds", "0-3",
                          "-j", "1", "--quiet"], cwd=tmp_path, env=env, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(tmp.glob(f"mmstress-sweep-{p.pid}-*/run-0.log")):
        assert time.monotonic() < deadline and p.poll() is None, "the sweep never started a run"
        time.sleep(0.05)
    family = psutil.Process(p.pid).children(recursive=True)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    psutil.wait_procs(family, timeout=30)                # the runner stops on its PDEATHSIG
    assert list(tmp.glob(f"mmstress-sweep-{p.pid}-*")), "the SIGKILLed sweep left nothing to clean"
    r = subprocess.run([sys.executable, "-m", "harness", "sweep", "long.toml", "--seeds", "0",
                        "--ops", "5", "--quiet"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert os.listdir(tmp) == [], "the next sweep did not remove the killed sweep's folder"


# --- replay and minimize reports when nobody signals -------------------------------------------
def test_replay_and_minimize_reports_without_a_signal_are_complete(tmp_path):
    import signal_matrix
    files = signal_matrix.make_files(tmp_path)
    r = _cli(["replay", files["trace"], "--trust", "--json", "replay.json"], tmp_path,
             extra=[tmp_path])                             # our own trace and workload
    doc = json.loads((tmp_path / "replay.json").read_text())
    assert r.returncode == 1 == doc["exit_code"], r.stderr
    assert doc["interrupted"] is None and doc["runs"][0]["status"] == "violations"
    r = _cli(["minimize", files["trace"], "--trust", "-o", "min.mmtrace", "--budget", "3",
              "--json", "m.json"],
             tmp_path, extra=[tmp_path])
    doc = json.loads((tmp_path / "m.json").read_text())
    assert r.returncode == 0 == doc["exit_code"], r.stderr
    assert doc["interrupted"] is None and doc["kind"] == "minimize" and doc["runs"] == []
    assert doc["runs_tried"] <= 3 and doc["target"]["kind"] == "double-free"
    assert doc["checked"] == doc["shrunk"] and (tmp_path / "min.mmtrace").exists()
    assert "interrupted" not in r.stderr
