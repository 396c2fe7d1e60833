"""Which workload accesses are scheduling points, and the object each point carries."""

from types import SimpleNamespace

import numpy as np

from kernel_model import debug
from harness.runtime.access import LINE_OBJ, OWNER_LINES, AccessPoints, line_obj


class Recorder(debug.DebugHooks):
    def __init__(self):
        self.points = []

    def check_access(self, addr, size, type, delay=None, mem=None, off=0):
        if delay is not None:
            delay()

    def yield_point(self, kind, obj=None):
        self.points.append((kind, obj))


def points_of(cpu_accesses, owner):
    rec = Recorder()
    old = debug.install(rec)
    try:
        for cpu, lo in cpu_accesses:
            node = SimpleNamespace(arena=SimpleNamespace(has=lambda name: True,
                                                         v={"access_owner": owner}),
                                   data=None)
            AccessPoints(node, True, cpu).memory(0, 0x1000 + lo, 8, 0, [(lo, lo + 8)])
    finally:
        debug.install(old)
    return rec.points


def test_a_line_is_a_point_once_two_cpus_touched_it_and_the_point_names_the_line():
    owner = np.zeros(OWNER_LINES, dtype=np.uint8)
    points = points_of([(0, 128), (0, 136), (1, 130), (0, 140), (1, 4096)], owner)
    assert points == [("access", line_obj(128)), ("access", line_obj(140))]
    assert line_obj(128) == LINE_OBJ | 2 and line_obj(140) == line_obj(128)
    assert line_obj(4096) != line_obj(128)
