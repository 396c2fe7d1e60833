"""The debug hook interface: where the kernel would run a CONFIG_DEBUG_* check.

The model calls ``debug.hooks.<event>(...)`` at the points where Linux runs
might_sleep(), lockdep, KASAN, page-owner or this_cpu checks.  The default
hooks do nothing (a production kernel), except the two that must not be
silent: a self-deadlock raises ``SelfDeadlock`` instead of hanging, and
``printk`` keeps a small dmesg ring.  The harness installs its checkers with
``install()``; the model never imports the harness.

Hooks receive plain values (pfn, address, lock id, gfp, cpu id) so a checker
can record them without touching the model's objects.

The allocator fast paths (kmalloc/kfree and kmem_cache_alloc/free of every
slab allocator) run millions of times a run; most runs install no checker
that listens to their hooks.  ``fast_hooks`` is their static key (the
kernel's ``static_branch_unlikely``): None while every hook of
``FAST_PATH_HOOKS`` is the no-op default, else the installed hooks.  A fast
path reads it once and skips its hook calls when it is None; anything else
calls ``hooks.<event>`` as always.  It follows ``install()`` and any later
assignment to (or deletion of) a hook attribute of the installed object,
so a test that patches ``debug.hooks.slab_alloc`` is heard.
"""

from collections import deque


class KernelBug(Exception):
    """A bug the kernel would stop on (BUG()): raised so the CPU does not hang."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


class SelfDeadlock(KernelBug):
    """A CPU spun on a lock it already holds (AA deadlock)."""


class DebugHooks:
    """No-op hooks: subclass and override what a checker needs."""

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        if name in FAST_PATH_HOOKS and self is hooks:
            _update_fast_hooks()

    def __delattr__(self, name):
        object.__delattr__(self, name)
        if name in FAST_PATH_HOOKS and self is hooks:
            _update_fast_hooks()

    # context
    def might_sleep(self, where, gfp=None):
        pass

    # locks (lockdep)
    def lock_acquire(self, lock, trylock):
        pass

    def lock_acquired(self, lock, contended):
        pass

    def lock_release(self, lock):
        pass

    def spin_self_deadlock(self, lock, owner):
        raise SelfDeadlock("spinlock-recursion",
                           f"BUG: spinlock recursion on CPU#{lock.owner_cpu()}, {lock.name}")

    def context_exit(self):
        """A hardirq, softirq, tasklet or process iteration is returning."""

    # per-CPU sections (this_cpu_* and fast paths)
    def percpu_enter(self, what, cpu, protection):
        pass

    def percpu_exit(self, what, cpu):
        pass

    # page allocator
    def page_alloc(self, pfn, order, gfp):
        pass

    def page_free(self, pfn, order):
        """free_pages_prepare's debug checks; True: the free is bad (reported), and
        the pages are not freed, as the kernel leaks a page that fails bad_page()."""
        return False

    def bad_page(self, pfn, reason):
        pass

    def should_fail_alloc_page(self, gfp, order):
        """fail_page_alloc fault injection: True makes this allocation fail."""
        return False

    def alloc_failed(self, gfp, order, text):
        pass

    def node_alloc(self, what, nid, got_nid, addr):
        """An allocation that named node ``nid`` (alloc_pages_node, kmalloc_node,
        kmem_cache_alloc_node) succeeded with memory of node ``got_nid``."""

    # scheduler yield points (lock operations, allocator entry/exit)
    def yield_point(self, kind, obj=None):
        """``obj``: the lock a CPU spins on, for deadlock reports."""

    # slab, kmalloc, vmalloc (slab_common.py, slub.py, slab.py, kmalloc.py, vmalloc.py)
    def slab_event(self, event, **info):
        """Rare slab-internal events: free_slab (cache, pfn, order),
        cache_destroy_busy (cache, remaining), alloc_allocated (cache, addr:
        the allocator handed out an object its debug state says is in use),
        wrong_cache (cache, addr, real: kmem_cache_free into the wrong cache),
        object_corrupt (cache, addr, what, fault, end, found, expected: SLUB_DEBUG's
        check_object found "<what> overwritten" and restored the bytes),
        freelist_corrupt (cache, addr, fp, what: a free pointer outside the slab
        or pointing at its own object), vmalloc (addr, size, pages),
        purge_vmap_area_lazy (start, end, pages: lazily freed vmalloc ranges
        flushed from the TLBs and freed)."""

    def slab_alloc(self, cache_name, addr, size, gfp):
        """An object was handed out (after its debug data was written).
        ``size`` is what the caller asked for (kmalloc) or the object size."""

    def slab_free(self, cache_name, addr):
        """An object is about to be freed (before any check: KASAN's hook point)."""

    def double_free(self, cache_name, addr, text):
        """Free of an object whose debug state is not allocated; the free is skipped."""

    def invalid_free(self, cache_name, addr, text):
        """Free of an address that is not an object start (cache_name may be None:
        not a slab page at all); the free is skipped."""

    def should_failslab(self, cache_name, gfp):
        """failslab fault injection: True makes this slab allocation fail."""
        return False

    def slab_tid_window(self, what, cpu):
        """Between the tid/freelist read and the emulated cmpxchg of the SLUB fast
        paths (slab_alloc_node, do_slab_free): an interrupt here must make the
        swap retry.  Tests fire a signal from it; keep it cheap."""

    def memory_access(self, addr, size, write):
        """A workload is about to read or write ``size`` bytes at ``addr``
        (k.read/k.write/k.memset): KASAN's check_memory_region point.  True: the
        access is bad and was reported; the caller then does not write (the report
        is the bug's one report, not the poison or redzone damage it would cause)."""
        return False

    def check_access(self, addr, size, type, delay=None, mem=None, off=0):
        """KCSAN's __kcsan_check_access: a workload is about to access ``size`` bytes
        at ``addr``; ``type`` is a KCSAN_ACCESS_* mask (as include/linux/kcsan-checks.h).
        ``delay``: the scheduling point of this access (None: there is none); the
        hook calls it exactly once -- a data-race checker calls it inside its watch
        window.  ``mem[off:off + size]`` holds the current bytes (per-CPU: ``mem[off]``
        the slot's value), for the checker's "value changed" recheck."""
        if delay is not None:
            delay()

    def vfree_bad(self, addr, text):
        """vfree()/vunmap() of an address that is no vmalloc area start."""

    # KASAN for page, vmalloc and large kmalloc memory (mm/kasan/common.c, shadow.c)
    def kasan_unpoison_vmalloc(self, addr, size, nr_pages):
        """vmalloc made an area of ``size`` bytes at ``addr`` (``nr_pages`` mapped
        pages, then the guard page): the first ``size`` bytes become accessible."""

    def kasan_poison_vmalloc(self, addr, size, nr_pages):
        """vfree is about to unmap the area at ``addr``: it is poisoned until reuse."""

    def kernel_fault(self, addr, size, write):
        """A workload access to ``size`` bytes at ``addr`` that has no mapping (a
        vmalloc guard page, a freed vm area, an address outside the model):
        the kernel would take a page fault and oops.  Returns True if a
        checker reported it (the access is then dropped: reads give zeroes);
        False makes the k API raise, as it does with no checker installed."""
        return False

    def gfp_zone_bad(self, gfp):
        """An allocation asked for a GFP_ZONE_BAD mask (two zone modifiers).  The kernel
        stops there (VM_BUG_ON in gfp_zone()); a hook that reports it returns True
        and the allocation fails (NULL), otherwise the model raises GfpError."""
        return False

    def percpu_update(self, what, cpu, delta, value):
        """A per-CPU counter slot of ``cpu`` was changed by ``delta`` on purpose and
        now holds ``value`` (the per-CPU checker reconciles the sum of the deltas
        with the slot at the end: a lost update shows as a difference)."""

    def report(self, kind, text):
        """A kernel message that is itself the report (WARN, BUG, Fix your code!)."""
        printk(text)


# The hooks the slab fast paths call (slub.py, slab_common.py, kmalloc.py): skipped
# while none of them does anything (``fast_hooks`` is None).
FAST_PATH_HOOKS = frozenset(("might_sleep", "should_failslab", "percpu_enter", "percpu_exit",
                             "slab_tid_window", "slab_alloc", "slab_free"))

hooks = DebugHooks()
fast_hooks = None          # ``hooks`` if any FAST_PATH_HOOKS hook of it is not the no-op
dmesg = deque(maxlen=1000)


def listens(h, names=FAST_PATH_HOOKS):
    """True if hooks object ``h`` does something on one of the hooks ``names``
    (an override of the class, or an attribute set on the instance)."""
    for name in names:
        f = getattr(h, name)
        if getattr(f, "__func__", f) is not getattr(DebugHooks, name):
            return True
    return False


def _update_fast_hooks():
    global fast_hooks
    fast_hooks = hooks if listens(hooks) else None


def install(new_hooks):
    """Install checker hooks for this process; returns the previous ones."""
    global hooks
    old, hooks = hooks, new_hooks
    _update_fast_hooks()
    return old


def printk(text):
    dmesg.append(text)
