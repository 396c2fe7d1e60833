"""Arena lifetime: created once, attached by name, unlinked on every path."""

import os
import signal

import pytest

import kernel_model as km
from kernel_model.arena import PREFIX, Arena, sweep_stale


def own_segments():
    return [n for n in os.listdir("/dev/shm") if n.startswith(f"{PREFIX}{os.getpid()}_")]


def exists(name):
    return os.path.exists(f"/dev/shm/{name}")


def test_close_unlinks_and_attach_reads_sections():
    with Arena.create([("a", "I", 10), ("b", "q", 3)]) as arena:
        arena.v["a"][3] = 77
        other = Arena.attach(arena.name)
        assert other.v["a"][3] == 77 and not other.owner
        other.close()
        assert exists(arena.name), "an attacher must not unlink"
        name = arena.name
    assert not exists(name)


def test_exception_during_boot_body_still_unlinks():
    with pytest.raises(RuntimeError):
        with km.boot(total="16M", max_locks=16) as node:
            name = node.arena.name
            raise RuntimeError("boom")
    assert not exists(name)


def test_finaliser_unlinks_when_forgotten():
    node = km.boot(total="16M", max_locks=16)
    name = node.arena.name
    km.pgdat.set_current(None)
    del node
    import gc
    gc.collect()
    assert not exists(name)


def test_forked_child_never_unlinks():
    with km.boot(total="16M", max_locks=16) as node:
        pid = os.fork()
        if pid == 0:
            node.close()            # a CPU exiting closes its mapping only
            os._exit(0)
        os.waitpid(pid, 0)
        assert exists(node.arena.name)


def test_sweep_removes_segments_of_killed_owners():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        arena = Arena.create([("x", "B", 64)])
        os.write(w, arena.name.encode())
        os.kill(os.getpid(), signal.SIGKILL)
    name = os.read(r, 100).decode()
    os.waitpid(pid, 0)
    assert name.startswith(f"{PREFIX}{pid}_")
    if exists(name):                 # the resource tracker may have beaten us to it
        assert name in sweep_stale()
    assert not exists(name)


def test_no_segment_of_this_process_is_left():
    assert own_segments() == []
