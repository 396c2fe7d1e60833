"""slab_h: the allocator contract, the registry, and the named packed words."""

import pytest

import kernel_model as km
from harness import scenario
from harness.cli import main
from harness.exits import EXIT_USAGE
from kernel_model import context, slab_common as sc, slab_debug, slab_h, spinlock
from kernel_model.errors import ConfigError


@pytest.mark.parametrize("name", list(slab_h.ALLOCATORS))
def test_every_registered_allocator_satisfies_the_contract(name):
    mod = slab_h.allocator(name)
    assert isinstance(mod, slab_h.SlabAllocator)
    assert mod.name == name
    for member in slab_h.CONTRACT:
        assert hasattr(mod, member), f"{mod.__name__} lacks {member}"
        assert member == "name" or callable(getattr(mod, member)), member


def test_the_protocol_refuses_a_module_that_lacks_a_member():
    import types
    fake = types.ModuleType("half")
    for member in slab_h.CONTRACT:
        setattr(fake, member, "x" if member == "name" else (lambda *a: 0))
    assert isinstance(fake, slab_h.SlabAllocator)
    delattr(fake, "__kmem_cache_shutdown")
    assert not isinstance(fake, slab_h.SlabAllocator)


def test_unknown_allocator_is_a_config_error_naming_the_choices():
    with pytest.raises(ConfigError) as info:
        slab_h.allocator("nope")
    assert "'nope'" in str(info.value) and "'slub', 'slab'" in str(info.value)
    with pytest.raises(ConfigError) as info:
        km.boot(total="32M", page_data=True, slab="nope")
    assert "'slub', 'slab'" in str(info.value)


def test_boot_finds_the_allocator_in_the_registry(monkeypatch):
    # a name registered here, for a module slab_common has never heard of by
    # that name: boot, kmalloc, slabinfo and destroy go through the contract
    monkeypatch.setitem(slab_h.ALLOCATORS, "classic", "kernel_model.slab")
    with km.boot(total="32M", page_data=True, slab="classic") as node:
        assert node.slab.allocator is slab_h.allocator("slab")
        assert node.slab.meta[0] == list(slab_h.ALLOCATORS).index("classic") + 1
        a = km.kmalloc(100, km.GFP_KERNEL)
        km.kfree(a)
        c = km.kmem_cache_create("reg", 48)
        objs = [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(5)]
        assert sc.check_slabs(node, objs) == []
        for o in objs:
            km.kmem_cache_free(c, o)
        assert " : tunables  120   60    0 " in km.slabinfo.cache_show(c)
        assert km.kmem_cache_destroy(c)


def _scenario(tmp_path, slab):
    p = tmp_path / "alloc.toml"
    p.write_text(f'cpus = 1\nops = 10\n\n[allocator]\nslab = "{slab}"\n\n'
                 '[process]\nops = [ { op = "kmalloc", size = "8..64" } ]\n')
    return p


def test_scenario_with_an_unknown_allocator_is_exit_2_naming_file_key_and_choices(tmp_path,
                                                                                  capsys):
    p = _scenario(tmp_path, "nope")
    assert main(["run", str(p), "--seed", "1"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{p}:5: allocator.slab: 'nope' is not allowed; allowed: slub, slab, sheaves" in err, err
    assert "Traceback" not in err


def test_scenario_takes_its_allocators_from_the_registry(tmp_path, monkeypatch):
    monkeypatch.setitem(slab_h.ALLOCATORS, "sheaves", "kernel_model.slub")
    assert scenario.load(str(_scenario(tmp_path, "sheaves"))).slab == "sheaves"
    with pytest.raises(scenario.ScenarioError) as info:
        scenario.load(str(_scenario(tmp_path, "nope")))
    assert "allowed: slub, slab, sheaves" in str(info.value)


# -- named packed words --------------------------------------------------------------------
def test_slab_counters_word():
    co = slab_h.slab_counters(7, 32, frozen=1)
    assert (slab_h.slab_inuse(co), slab_h.slab_objects(co), slab_h.slab_frozen(co)) == (7, 32, 1)
    assert co == 1 << 31 | 32 << 16 | 7            # the layout of struct slab's counters
    assert slab_h.slab_frozen(slab_h.slab_counters(0xFFFF, 0x7FFF)) == 0
    assert slab_h.slab_inuse(slab_h.slab_counters(0xFFFF, 0x7FFF)) == 0xFFFF


def test_track_word_and_owner_word():
    w = slab_debug.track_where(3, context.CTX_HARDIRQ)
    assert (slab_debug.track_cpu(w), slab_debug.track_context(w)) == (3, context.CTX_HARDIRQ)
    assert slab_debug.track_cpu(0) == -1
    o = spinlock.owner_word_of(5, context.CTX_SOFTIRQ)
    assert (spinlock.owner_cpu(o), spinlock.owner_context(o)) == (5, context.CTX_SOFTIRQ)
    assert spinlock.owner_cpu(0) == -1


def test_a_lock_records_its_owner_in_the_named_word():
    with km.boot(total="32M") as node:
        lock = spinlock.spin_lock_init(node.locks, "t")
        spinlock.spin_lock(lock)
        assert lock.owner_cpu() == context.this_cpu.id
        assert lock.owner_word() == spinlock.owner_word_of(context.this_cpu.id, context.CTX_TASK)
        spinlock.spin_unlock(lock)
        assert lock.owner_cpu() == -1


def test_stat_slots_are_named():
    with km.boot(total="32M", page_data=True, slab="slub", slub_debug=False) as node:
        c = km.kmem_cache_create("st", 64)
        km.kmem_cache_free(c, km.kmem_cache_alloc(c, km.GFP_KERNEL))
        km.kmem_cache_free(c, km.kmem_cache_alloc(c, km.GFP_KERNEL))
        slot = sc.stat_slot(c, context.this_cpu.id, sc.FREE_FASTPATH)
        assert node.slab.stat[slot] == sc.slab_stats(c)["free_fastpath"] == 2
        assert sc.slab_stats(c)["alloc_fastpath"] == 1 and sc.slab_stats(c)["alloc_slowpath"] == 1


# -- free_objects_of_slab: each allocator's walk catches its own corruption ------------------
@pytest.mark.parametrize("kind", list(slab_h.ALLOCATORS))
def test_free_object_walk_is_silent_on_correct_slabs_and_catches_a_corrupt_one(kind):
    with km.boot(total="32M", page_data=True, slab=kind, slub_debug=False) as node:
        c = km.kmem_cache_create("walk", 64)
        objs = [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(10)]
        for o in objs[5:]:
            km.kmem_cache_free(c, o)
        held = objs[:5]
        c.state.allocator.flush_all(c)
        assert sc.check_slabs(node, held) == []
        head = sc.virt_to_slab(node, held[0])
        free, problems = c.state.allocator.free_objects_of_slab(c, head)
        assert problems == [] and not free & set(held)
        # corrupt the slab's own free list: a free pointer / free index out of range
        mm = node.mem_map
        if kind in ("slub", "sheaves"):                     # a SLUB free pointer
            first = mm.slab_freelist[head]
            c.data_q[(first - c.fp_base) >> 3] = first + 3          # not an object start
        else:
            fi = (mm.slab_freelist[head] - node.page_offset) >> 1
            c.data_h[fi + slab_h.slab_inuse(mm.slab_counters[head])] = c.objects + 1
        problems = sc.check_slabs(node, held)
        assert problems and f"walk slab {head:#x}" in problems[0], problems
