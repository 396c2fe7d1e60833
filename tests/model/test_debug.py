"""debug.fast_hooks, the fast paths' static key: None while no installed hook of
FAST_PATH_HOOKS does anything (and then kmalloc/kfree call no hook at all), the
installed hooks as soon as one does -- by install(), by a subclass, or by a test
patching an attribute of the installed object."""

import kernel_model as km
from kernel_model import debug


class _LocksOnly(debug.DebugHooks):
    def __init__(self):
        object.__setattr__(self, "acquired", 0)

    def lock_acquire(self, lock, trylock):
        object.__setattr__(self, "acquired", self.acquired + 1)


class _AllocWatcher(debug.DebugHooks):
    def __init__(self):
        object.__setattr__(self, "seen", [])

    def slab_alloc(self, cache_name, addr, size, gfp):
        self.seen.append((cache_name, addr, size))


def test_default_hooks_and_hooks_off_the_fast_paths_leave_the_key_off(debug_hooks):
    debug_hooks(debug.DebugHooks())
    assert debug.fast_hooks is None
    lk = debug_hooks(_LocksOnly())                         # listens, but not on a fast path
    assert debug.fast_hooks is None and debug.listens(lk, {"lock_acquire"})


def test_a_listening_subclass_turns_the_key_on_and_is_called(debug_hooks):
    w = debug_hooks(_AllocWatcher())
    assert debug.fast_hooks is w
    with km.boot(total="32M", page_data=True, slab="slub", slub_debug=False):
        a = km.kmalloc(64, km.GFP_KERNEL)
        km.kfree(a)
    assert w.seen == [("kmalloc-64", a, 64)]


def test_patching_the_installed_object_is_heard_and_undone(debug_hooks):
    h = debug_hooks(debug.DebugHooks())
    seen = []
    h.slab_free = lambda name, addr: seen.append(addr)
    assert debug.fast_hooks is h
    with km.boot(total="32M", page_data=True, slab="slub", slub_debug=False):
        a = km.kmalloc(64, km.GFP_KERNEL)
        km.kfree(a)
        assert seen == [a]
        del h.slab_free
        assert debug.fast_hooks is None
        km.kfree(km.kmalloc(64, km.GFP_KERNEL))
    assert seen == [a]


def test_with_the_key_off_the_slub_fast_paths_call_no_hook(debug_hooks, monkeypatch):
    """kmalloc+kfree and kmem_cache_alloc+free on SLUB make no hook call while the
    key is off: the defaults themselves count here (so the key stays off), and
    count nothing; a slow path still calls them as always."""
    calls = []
    for name in debug.FAST_PATH_HOOKS:
        monkeypatch.setattr(debug.DebugHooks, name,
                            lambda self, *a, _n=name, **kw: calls.append(_n))
    debug_hooks(debug.DebugHooks())
    assert debug.fast_hooks is None
    with km.boot(total="32M", page_data=True, slab="slub", slub_debug=False):
        c = km.kmem_cache_create("quiet", 64)
        km.kfree(km.kmalloc(64, km.GFP_KERNEL))            # warm: the CPU slabs exist
        km.kmem_cache_free(c, km.kmem_cache_alloc(c, km.GFP_KERNEL))
        calls.clear()
        for _ in range(3):
            km.kfree(km.kmalloc(64, km.GFP_KERNEL))
            km.kmem_cache_free(c, km.kmem_cache_alloc(c, km.GFP_KERNEL))
        assert calls == []


def test_install_returns_the_old_hooks_and_recomputes_the_key(debug_hooks):
    w = _AllocWatcher()
    old = debug.install(w)
    try:
        assert debug.fast_hooks is w
    finally:
        assert debug.install(old) is w
    assert debug.fast_hooks is (old if debug.listens(old) else None)
