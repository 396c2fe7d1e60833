"""What killed runs leave behind (harness/tools/leftovers.py) and ``mmstress clean``.

Owners are real pids: this process (alive) and a child that has exited and
been reaped (gone).  Folders are tmp_path stand-ins for /dev/shm and $TMPDIR.
"""

import os
import subprocess
import sys
import tempfile

import pytest

from harness.cli import main
from harness.tools import leftovers


@pytest.fixture(scope="module")
def gone_pid():
    """The pid of a process that has exited and been reaped."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    assert not leftovers.alive(p.pid)
    return p.pid


@pytest.fixture
def places(tmp_path, monkeypatch, gone_pid):
    shm, tmp = tmp_path / "shm", tmp_path / "tmp"
    shm.mkdir()
    tmp.mkdir()
    monkeypatch.setattr(leftovers, "SHM", str(shm))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    me = os.getpid()
    (shm / f"mmstress_{gone_pid}_dead").write_bytes(b"x" * 5000)
    (shm / f"mmstress_{me}_live").write_bytes(b"x")
    (shm / "other_file").write_bytes(b"x")
    (tmp / f"mmstress-sweep-{gone_pid}-abc").mkdir()
    (tmp / f"mmstress-sweep-{gone_pid}-abc" / "run-0.json").write_text("{}")
    (tmp / f"mmstress-sweep-{me}-def").mkdir()
    return shm, tmp, me, gone_pid


def test_only_what_a_gone_owner_left_is_stale(places):
    shm, tmp, me, gone = places
    assert leftovers.stale_segments() == [(str(shm / f"mmstress_{gone}_dead"), gone)]
    assert leftovers.live_segments() == [(str(shm / f"mmstress_{me}_live"), me)]
    assert leftovers.stale_sweep_dirs() == [(str(tmp / f"mmstress-sweep-{gone}-abc"), gone)]


def test_a_new_sweep_folder_removes_the_folders_of_gone_sweeps(places):
    shm, tmp, me, gone = places
    mine = leftovers.sweep_dir()
    assert os.path.basename(mine).startswith(f"mmstress-sweep-{me}-") and os.path.isdir(mine)
    assert sorted(os.listdir(tmp)) == sorted([f"mmstress-sweep-{me}-def", os.path.basename(mine)])


def test_clean_dry_run_lists_and_removes_nothing(places, capsys):
    shm, tmp, me, gone = places
    assert main(["clean", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would remove {shm}/mmstress_{gone}_dead" in out
    assert f"would remove {tmp}/mmstress-sweep-{gone}-abc" in out
    assert "would remove 2 items" in out and "1 segment of live runs left alone" in out
    assert len(os.listdir(shm)) == 3 and len(os.listdir(tmp)) == 2


def test_clean_removes_what_gone_owners_left_and_says_so(places, capsys):
    shm, tmp, me, gone = places
    assert main(["clean"]) == 0
    out = capsys.readouterr().out
    assert f"removed {shm}/mmstress_{gone}_dead" in out and "removed 2 items" in out
    assert sorted(os.listdir(shm)) == sorted([f"mmstress_{me}_live", "other_file"])
    assert os.listdir(tmp) == [f"mmstress-sweep-{me}-def"]


def test_clean_with_nothing_to_remove_says_so(places, capsys):
    assert main(["clean"]) == 0
    capsys.readouterr()
    assert main(["clean"]) == 0
    assert "removed 0 items" in capsys.readouterr().out
