"""Helpers shared by the slab tests: a hook class that records calls, and forking CPUs."""

import json
import os

from kernel_model import context, debug


class RecordingHooks(debug.DebugHooks):
    """Records slab events and counts spinlocks taken inside per-CPU fast paths."""

    def __init__(self):
        self.calls = []
        self.in_fastpath = 0
        self.locks_in_fastpath = 0
        self.locks = 0
        self.reports = []

    FASTPATHS = ("slab_alloc_node", "do_slab_free")

    def percpu_enter(self, what, cpu, protection):
        if what in self.FASTPATHS:
            self.in_fastpath += 1

    def percpu_exit(self, what, cpu):
        if what in self.FASTPATHS:
            self.in_fastpath -= 1

    def lock_acquire(self, lock, trylock):
        self.locks += 1
        if self.in_fastpath:
            self.locks_in_fastpath += 1

    def slab_alloc(self, cache_name, addr, size, gfp):
        self.calls.append(("alloc", cache_name, addr, size))

    def slab_free(self, cache_name, addr):
        self.calls.append(("free", cache_name, addr))

    def double_free(self, cache_name, addr, text):
        self.calls.append(("double_free", cache_name, addr, text))

    def invalid_free(self, cache_name, addr, text):
        self.calls.append(("invalid_free", cache_name, addr, text))

    def vfree_bad(self, addr, text):
        self.calls.append(("vfree_bad", addr, text))

    def report(self, kind, text):
        self.reports.append((kind, text))

    def kinds(self):
        return [c[0] for c in self.calls]


def run_cpus(node, fn, nr=2, parent_close=()):
    """Fork ``nr`` CPU processes running fn(cpu) -> dict; returns their dicts.

    ``parent_close``: fds the parent closes once the CPUs are forked (pipe ends
    the CPUs use between themselves)."""
    procs = []
    for cpu in range(nr):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            code = 1
            try:
                context.set_this_cpu(context.CPU(cpu, pid=os.getpid()))
                out = fn(cpu)
                os.write(w, json.dumps(out).encode())
                code = 0
            except BaseException:
                import traceback
                os.write(w, json.dumps({"error": traceback.format_exc()}).encode())
            finally:
                os._exit(code)
        os.close(w)
        procs.append((pid, r))
    for fd in parent_close:
        os.close(fd)
    results = []
    for pid, r in procs:
        data = b""
        while True:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            data += chunk
        os.close(r)
        _, status = os.waitpid(pid, 0)
        out = json.loads(data) if data else {"error": f"no output, status {status}"}
        assert "error" not in out, out.get("error")
        results.append(out)
    return results
