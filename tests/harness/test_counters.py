"""harness/runtime/counters.py: each CPU's words and rows on cache lines of their own."""

import kernel_model as km
from harness.runtime import counters as C

LINE = 64


def _boot(nr_cpus):
    return km.boot(total="16M", nr_cpus=nr_cpus, extra_sections=C.arena_sections(nr_cpus))


def test_per_cpu_words_index_by_cpu_and_never_share_a_cache_line():
    with _boot(3) as node:
        a = node.arena
        for name in C.PERCPU_WORDS:
            words = C.percpu_words(a, name)
            assert len(words) == 3
            for cpu in range(3):
                words[cpu] = 10 * cpu + 7
            raw = a.np(name)
            lines = {}
            for i, v in enumerate(raw.tolist()):
                if v:
                    lines.setdefault(i * 8 // LINE, []).append(v)
            assert sorted(lines.values()) == [[7], [17], [27]], name   # one CPU's word a line
        snap = C.snapshot(a, 3)
        assert snap["phase"] == [7, 17, 27] and snap["doing"] == [7, 17, 27]


def test_per_cpu_rows_start_on_a_cache_line_and_read_back_whole():
    assert C.stat_base(1) * 8 % LINE == 0 and C.STAT_ROW >= C.NR_STATS
    assert C.ops_base(1, 0) * 8 % LINE == 0
    with _boot(2) as node:
        a = node.arena
        stat = a.v["cpu_stat"]
        for cpu in range(2):
            for i in range(C.NR_STATS):
                stat[C.stat_base(cpu) + i] = 100 * cpu + i
        snap = C.snapshot(a, 2)
        assert snap["stat"] == [[100 * cpu + i for i in range(C.NR_STATS)] for cpu in range(2)]
