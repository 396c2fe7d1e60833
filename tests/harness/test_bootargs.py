"""The [debug] section (harness/runtime/bootargs.py): the kernel command line's
debug switches -- parsed with clear errors, and each one changing what a run
does: slub_debug="-" gives the kernel's slab geometry, kasan=false silences
KASAN, kasan_multi_shot=false keeps the first report, kasan_fault="panic"
stops the run, quarantine holds freed objects back."""

import pytest

import kernel_model as km
from harness import checkers, scenario
from harness.runtime import bootargs
from harness.supervisor import machine
from kernel_model import debug, gfp as g, planted, slabinfo

GK = g.GFP_KERNEL
BASE = '''
cpus = 1
ops = 50
workload = "scenarios.workloads.bugs.page_use_after_free"

[memory]
size = "32M"

[allocator]
slab = "slub"

[interrupts]
rate = 0
'''


def parse(debug_text):
    return scenario.parse(BASE + "\n[debug]\n" + debug_text, "t.toml", "t")


def test_defaults_are_the_harness_as_it_was():
    sc = scenario.parse(BASE, "t.toml", "t")
    assert sc.debug is None
    args = parse("").debug
    assert (args.boot_slub_debug, args.kasan, args.kasan_fault, args.kasan_multi_shot,
            args.quarantine) == (True, True, "report", True, 0)


@pytest.mark.parametrize("text, words", [
    ('slub_debug = "FZX"', 'slub_debug: \'FZX\' is not allowed'),
    ('slub_debug = ""', "a non-empty subset of FZPU"),
    ('kasan_fault = "oops"', "kasan_fault: 'oops' is not allowed; allowed: report, panic"),
    ('kasan = "yes"', "kasan: true or false expected"),
    ('quarantine = -1', "quarantine: -1 is out of range"),
    ('page_owner = true', "debug.page_owner: unknown key"),
])
def test_bad_switches_name_the_line_and_what_is_allowed(text, words):
    with pytest.raises(scenario.ScenarioError) as e:
        parse(text)
    assert words in str(e.value) and "t.toml:" in str(e.value)


def test_kasan_dot_fault_spellings():
    assert parse('"kasan.fault" = "panic"').debug.kasan_fault == "panic"
    assert parse('kasan.fault = "panic"').debug.kasan_fault == "panic"


# The kernel's geometry for the kmalloc caches on a 2-CPU x86_64 machine with 4 KiB
# pages and slub_debug off (mm/slub.c calculate_order: min_objects = 4 * (fls(2) + 1)
# = 12, slub_max_order = 3): (objsize, objperslab, pagesperslab).
KERNEL_KMALLOC_GEOMETRY = {
    "kmalloc-8": (8, 512, 1), "kmalloc-16": (16, 256, 1), "kmalloc-32": (32, 128, 1),
    "kmalloc-64": (64, 64, 1), "kmalloc-96": (96, 42, 1), "kmalloc-128": (128, 32, 1),
    "kmalloc-192": (192, 21, 1), "kmalloc-256": (256, 16, 1), "kmalloc-512": (512, 16, 2),
    "kmalloc-1k": (1024, 16, 4), "kmalloc-2k": (2048, 16, 8), "kmalloc-4k": (4096, 8, 8),
    "kmalloc-8k": (8192, 4, 8)}


def _geometry(node):
    out = {}
    for line in slabinfo.slabinfo(node).splitlines()[2:]:
        f = line.split()
        if f[0].startswith("kmalloc-"):
            out[f[0]] = (int(f[3]), int(f[4]), int(f[5]))
    return out


def test_slub_debug_off_gives_the_kernels_slab_geometry():
    sc = parse('slub_debug = "-"')
    sc.cpus = 2
    with machine._boot(sc) as node:
        assert node.slub_debug is False
        assert _geometry(node) == KERNEL_KMALLOC_GEOMETRY
    sc = parse('slub_debug = "PZU"')
    sc.cpus = 2
    with machine._boot(sc) as node:
        assert node.slub_debug is True
        assert _geometry(node)["kmalloc-64"][0] > 64           # red zones and tracks


@pytest.mark.parametrize("letters", ["F", "Z", "P", "U", "ZP", "FZPU"])
def test_slub_debug_letters_give_each_cache_those_flags(letters):
    from kernel_model import slab_common as sc_mod
    sc = parse(f'slub_debug = "{letters}"')
    with machine._boot(sc) as node:
        s = sc_mod.find_cache("kmalloc-64", node)
        want = sc_mod.slub_debug_flags(letters)
        assert s.flags & sc_mod.slub_debug_flags("FZPU") == want
        assert s.redzone == ("Z" in letters) and s.debug == ("U" in letters)
        a = km.kmalloc(40, GK)
        km.kfree(a)


def test_quarantine_is_set_at_boot():
    sc = parse("quarantine = 16")
    with machine._boot(sc) as node:
        assert node.slab.quarantine_max == 16
        a = km.kmalloc(64, GK)
        km.kfree(a)
        assert km.kmalloc(64, GK) != a


@pytest.fixture
def kit():
    names = ("memory", "kasan_pages")
    layout = km.MemoryLayout(total="32M")
    with km.boot(layout, nr_cpus=1, page_data=True, slab="slub",
                 extra_sections=checkers.arena_sections(names, nr_pages=layout.nr_pages)) as node:
        hooks = checkers.build(list(names), node)
        old = debug.install(hooks)
        try:
            yield node, hooks
        finally:
            debug.install(old)
            planted.reset()


def _page_uaf_twice():
    p = km.__get_free_pages(GK, 0)
    km.free_pages(p, 0)
    debug.hooks.memory_access(p, 1, True)
    q = km.kmalloc(64, GK)
    km.kfree(q)
    debug.hooks.memory_access(q, 1, False)
    return p


def test_kasan_false_checks_no_access(kit):
    node, hooks = kit
    bootargs.apply_hooks(hooks, hooks.sink, bootargs.BootArgs(kasan=False))
    _page_uaf_twice()
    assert hooks.sink.violations == []


def test_multi_shot_off_keeps_the_first_kasan_report_only(kit):
    node, hooks = kit
    bootargs.apply_hooks(hooks, hooks.sink, bootargs.BootArgs(kasan_multi_shot=False))
    _page_uaf_twice()
    a = km.kmalloc(64, GK)
    km.kfree(a)
    km.kfree(a)                                  # a KASAN report too: dropped
    titles = [v.title for v in hooks.sink.violations]
    assert [t.split(" in ")[0] for t in titles] == ["BUG: KASAN: use-after-free"]


def test_kasan_fault_panic_sets_the_stop_word(kit):
    node, hooks = kit
    ctl = [0, 0, 0]
    bootargs.apply_hooks(hooks, hooks.sink, bootargs.BootArgs(kasan_fault="panic"), ctl, 1)
    _page_uaf_twice()
    assert ctl[1] == 1
    assert "Kernel panic - not syncing: kasan.fault=panic set" in hooks.sink.violations[0].text


@pytest.mark.slow
def test_kasan_fault_panic_stops_the_run():
    report = machine.run(parse('kasan_fault = "report"'), 5)
    panic = machine.run(parse('kasan_fault = "panic"'), 5)
    assert report.exit_code == panic.exit_code == 1
    assert [v["count"] for v in report.violations] == [50]        # one per iteration
    [v] = panic.violations
    assert v["count"] < 50 and "Kernel panic - not syncing" in v["text"]


def test_init_on_alloc_and_init_on_free_zero_pages():
    sc = parse("init_on_alloc = true\ninit_on_free = true")
    with machine._boot(sc) as node:
        p = km.__get_free_pages(GK, 0)
        off = p - node.page_offset
        assert bytes(node.data[off:off + node.page_size]) == bytes(node.page_size)
        node.data[off:off + 4] = b"abcd"
        km.free_pages(p, 0)
        assert bytes(node.data[off:off + 4]) == bytes(4)


def test_page_poison_finds_a_write_after_free_without_kasan():
    names = ("memory", "kasan_pages")
    sc = parse("page_poison = true\nkasan = false")
    layout = sc.layout()
    sc.checkers = names
    with km.boot(layout, nr_cpus=1, page_data=True, slab="slub",
                 extra_sections=checkers.arena_sections(names, nr_pages=layout.nr_pages)) as node:
        bootargs.apply_boot(node, sc.debug)
        hooks = checkers.build(list(names), node)
        bootargs.apply_hooks(hooks, hooks.sink, sc.debug)
        old = debug.install(hooks)
        try:
            p = km.__get_free_pages(GK, 0)
            km.free_pages(p, 0)
            off = p - node.page_offset
            assert bytes(node.data[off:off + 8]) == b"\xaa" * 8
            debug.hooks.memory_access(p + 100, 2, True)          # kasan = false: silent
            node.data[off + 100:off + 102] = b"\x00\x01"
            assert hooks.sink.violations == []
            q = km.__get_free_pages(GK, 0)
            assert q == p
            [v] = hooks.sink.violations
            assert v.kind == "use-after-free" and v.title == "pagealloc: memory corruption"
            assert f"{p + 100:#x}: 00 01" in v.text
            assert "page dumped because: pagealloc: corrupted page details" in v.text
            assert "page last free pid" in v.text
            km.free_pages(q, 0)
            assert km.__get_free_pages(GK, 0) == p and len(hooks.sink.violations) == 1
        finally:
            debug.install(old)


def test_no_checkers_means_no_debug_layout_unless_a_switch_says_so():
    sc = scenario.parse("checkers = []\n" + BASE, "t.toml", "t")
    with machine._boot(sc) as node:
        assert node.slub_debug is False
        assert _geometry(node)["kmalloc-64"] == (64, 64, 1)
    sc = scenario.parse("checkers = []\n" + BASE + '[debug]\nslub_debug = "PZU"\n', "t.toml", "t")
    with machine._boot(sc) as node:
        assert node.slub_debug is True
    sc = scenario.parse('checkers = ["memory"]\n' + BASE, "t.toml", "t")
    with machine._boot(sc) as node:
        assert node.slub_debug is True
