"""``k``: the kernel as seen from one CPU and one context -- the public workload API.

A workload module's functions each receive the ``k`` of the CPU and context
they run in::

    def setup(k): ...      # once per CPU, process context
    def process(k): ...    # one iteration of process-context work
    def hardirq(k): ...    # one hardware interrupt
    def softirq(k): ...    # the scenario's softirq (NET_RX_SOFTIRQ)
    def tasklet(k): ...    # the scenario's tasklet
    def teardown(k): ...   # once per CPU at the end, process context

The user's page, with each call's kernel counterpart, the contexts that may
call it and the context rules (mailbox capacity, when softirq and tasklet run,
per-CPU module state): docs/workload_api.md (a test keeps it complete).

Names and meanings are the kernel's; results are the kernel's (None is NULL).
GFP masks are ints (``from kernel_model.gfp import GFP_KERNEL``) or strings
(``"GFP_ATOMIC|__GFP_ZERO"``).

Allocation   kmalloc(size, gfp) kzalloc kfree(addr) ksize krealloc(addr, size, gfp)
             kmem_cache_create(name, size, ...) kmem_cache_alloc(cache, gfp)
             kmem_cache_free(cache, addr) kmem_cache_destroy(cache)
             kmem_cache_create(..., sheaf_capacity=N); prefilled sheaves (the
             sheaves allocator only): kmem_cache_prefill_sheaf(cache, gfp, n) ->
             sheaf, kmem_cache_alloc_from_sheaf(cache, gfp, sheaf) (cannot fail
             while the sheaf has objects), kmem_cache_sheaf_size(cache, sheaf),
             kmem_cache_return_sheaf(cache, gfp, sheaf)
             alloc_pages(gfp, order) -> page   __free_pages(page, order)
             alloc_pages_node(nid, gfp, order)  numa_node_id()  page_to_nid(page)
             kmalloc_node(size, gfp, nid)  kmem_cache_alloc_node(cache, gfp, nid)
             __get_free_pages(gfp, order) -> addr   get_zeroed_page(gfp)
             free_pages(addr, order)   page_address(page)   virt_to_page(addr)
             page_to_pfn(page)  pfn_to_page(pfn)   vmalloc(size) vzalloc vfree(addr)
Locks        lock(name) -> spinlock_t (the same lock on every CPU);
             spin_lock/spin_unlock, spin_trylock, spin_lock_irqsave -> flags /
             spin_unlock_irqrestore(lock, flags), spin_lock_irq/spin_unlock_irq,
             spin_lock_bh/spin_unlock_bh  (a lock or a lock name);
             mutex_lock/mutex_unlock (a sleeping lock: might_sleep, no preempt
             count); lock_at(addr, name) -> the lock embedded in the object at addr
Scopes       memalloc_nofs_save -> flags / memalloc_nofs_restore(flags), the noio
             pair likewise (current_gfp_context strips __GFP_FS / __GFP_IO);
             fs_reclaim_acquire(gfp)/fs_reclaim_release(gfp) (lockdep priming,
             as code that is called from reclaim does)
Context      local_irq_save -> flags / local_irq_restore(flags), local_irq_disable/
             enable, preempt_disable/enable, local_bh_disable/enable,
             raise_softirq(nr=NET_RX_SOFTIRQ), tasklet_schedule(fn=None: the
             scenario's tasklet), smp_processor_id, in_interrupt, in_atomic,
             in_softirq, in_task, irqs_disabled, cond_resched, cpu_relax
Per-CPU      this_cpu_read/this_cpu_write/this_cpu_inc/this_cpu_add(name, ...),
             get_cpu_var(name) -> value / put_cpu_var(name, value=None) (a
             read-modify-write section: preemption off, interrupts as the caller
             left them), with percpu_fastpath(name): a lock-free fast path,
             per_cpu(name, cpu) (a remote read), per_cpu_write(name, cpu, value)
             (a write to another CPU's slot is a foreign access: reported)
Memory       read(addr, n) -> bytes, write(addr, data), memset(addr, c, n),
             memmove(dst, src, n) (memcpy too), memcmp(a, b, n) -> int
             (plain accesses: each checked first by debug.hooks.memory_access,
             KASAN, and debug.hooks.check_access, KCSAN; an
             address with no mapping -- a vmalloc guard page, a freed vm area
             -- goes to debug.hooks.kernel_fault: reported as the kernel's page
             fault, the access dropped; with no checker it raises ValueError,
             as NULL and wild addresses do: an Oops, a workload-error).  With
             [tlb] every mapped access is also translated through this CPU's
             TLB (kernel_model/tlb.py: hits, misses, flushes)
More         kmalloc_node(size, gfp, node), kfree_sensitive(addr) (kzfree),
             kmem_cache_alloc_bulk(cache, gfp, n) -> [addr] or [] (all or none),
             kmem_cache_free_bulk(cache, addrs), virt_to_phys / phys_to_virt,
             vmalloc_to_page(addr)
Marked       READ_ONCE(addr, n=8) -> int, WRITE_ONCE(addr, value, n=8) (little-endian,
             unsigned); atomic_t at addr (4 bytes, signed): atomic_read(v),
             atomic_set(v, i), atomic_inc(v), atomic_dec(v), atomic_add_return(i, v),
             atomic_dec_and_test(v), atomic_cmpxchg(v, old, new) -> old value found,
             atomic_xchg(v, new) -> old; smp_mb().  Marked accesses never race with
             each other (KCSAN); the read-modify-writes are one step for every CPU.
Scheduling   under --sched free/random/pct/replay every access above (and this_cpu_*)
             to data that two CPUs or contexts have touched is a yield point
             (harness.runtime.access), so a strategy can split a read-modify-write.
Mailbox      send(cpu, addr, meta=0) -> False when full; recv() -> addr or None;
             recv_meta() -> (addr, meta) or None
Other        rng (random.Random seeded from the run's seed, CPU and context),
             cpu, nr_cpus, context ("process", "hardirq", "softirq", "tasklet"),
             gfp(text) -> int

Every allocator call is counted per CPU, context and op in the arena, and the
CPU's ``cpu_doing`` word names the call in progress (the watchdog shows it).
"""

import contextlib
import os
import sys

import kernel_model as km
from kernel_model import context, debug, gfp as gfp_mod, sched_mm, sheaf_prefill, sheaves, spinlock
from kernel_model.page import Page

from harness.runtime.access import (KCSAN_ACCESS_ATOMIC as _ATOMIC, KCSAN_ACCESS_COMPOUND as _RMW,
                                    KCSAN_ACCESS_WRITE as _WRITE, AccessPoints)
from harness.runtime.counters import CONTEXTS, OP, OP_CALL, STAT, ops_base
from harness.runtime import percpu

_GFP_CACHE = {}


def parse_gfp(value):
    """int or "GFP_KERNEL|__GFP_ZERO" -> int (cached)."""
    if isinstance(value, int):
        return value
    g = _GFP_CACHE.get(value)
    if g is None:
        g = _GFP_CACHE[value] = gfp_mod.parse_gfp(value)
    return g


def _op(name, resolve=None):
    """A counted k method calling the model function ``name`` (looked up on first use;
    ``resolve(name)`` finds it elsewhere)."""
    code = OP[name]
    resolve = resolve or _model_fn

    def method(self, *args, **kw):
        fn = self._fns.get(name)
        if fn is None:
            fn = self._fns[name] = resolve(name)
        self._doing[self.cpu] = self._dcode | code
        result = fn(*args, **kw)
        self._ops[self._obase + code] += 1
        self._doing[self.cpu] = self._dcode
        return result
    method.__name__ = name
    method.__doc__ = f"The model's {name}(), counted."
    return method


def _counted_alloc(name, resolve=None, op=None):
    """Like _op, for allocators taking gfp: parse string masks, count NULL
    (counted under ``op``'s name when given: a _node variant counts as its call)."""
    code = OP[op or name]
    resolve = resolve or _model_fn

    def method(self, *args):
        fn = self._fns.get(name)
        if fn is None:
            fn = self._fns[name] = resolve(name)
        args = self._gfp_args(name, args)
        self._doing[self.cpu] = self._dcode | code
        result = fn(*args)
        self._ops[self._obase + code] += 1
        self._doing[self.cpu] = self._dcode
        if result is None:
            self._stat[self._sbase + STAT["alloc_failed"]] += 1
        return result
    method.__name__ = name
    return method


def _model_fn(name):
    return getattr(km, name)


def _sheaf_fn(name):
    """A prefilled-sheaf call of the sheaves allocator (Linux 6.18+ has them; the
    6.12 SLUB and the classic SLAB do not)."""
    def call(cache, *args):
        if cache.state.allocator is not sheaves:
            raise NotImplementedError(f"{name}(): prefilled sheaves need the sheaves allocator "
                                      f"([allocator] slab = \"sheaves\"); this run has "
                                      f"{cache.state.allocator.name}")
        if args and isinstance(args[0], str):            # a gfp mask written as text
            args = (parse_gfp(args[0]),) + args[1:]
        return getattr(sheaf_prefill, name)(cache, *args)
    call.__name__ = name
    return call


# Position of the gfp argument in each allocator's signature.
_GFP_ARG = {"kmalloc": 1, "kzalloc": 1, "krealloc": 2, "kmem_cache_alloc": 1,
            "kmem_cache_prefill_sheaf": 1, "kmem_cache_alloc_from_sheaf": 1,
            "alloc_pages": 0, "__get_free_pages": 0, "get_zeroed_page": 0,
            "alloc_pages_node": 1, "kmalloc_node": 1, "kmem_cache_alloc_node": 1}


class Kernel:
    """``k`` for one CPU and context (see the module docstring for the API)."""

    def __init__(self, rt, ctx, rng):
        self._rt = rt
        self.cpu = rt.cpu_id
        self.nr_cpus = rt.nr_cpus
        self.context = CONTEXTS[ctx]
        self.rng = rng
        self._fns = {}
        self._ops = rt.ops
        self._obase = ops_base(self.cpu, ctx)
        self._stat = rt.stat
        self._sbase = rt.sbase
        self._doing = rt.doing
        self._dcode = (ctx << 16) | OP_CALL
        self._node = rt.node
        self._ctx = ctx                # harness context index (counters, access points)
        self._rmw = []                 # open get_cpu_var sections: [(name, value read)]
        acc = getattr(rt, "access", None)
        if acc is None:                # one per CPU process, shared by its four contexts
            acc = rt.access = AccessPoints(rt.node, getattr(getattr(rt, "plan", None), "engine", None) is not None,
                                           rt.cpu_id)
        self._acc = acc
        self._tlb = getattr(rt, "tlb", None)   # kernel_model.tlb.TLB ([tlb]) or None: no cost

    def __repr__(self):
        return f"<k CPU {self.cpu} {self.context}>"

    def _gfp_args(self, name, args):
        i = _GFP_ARG[name]
        if len(args) > i and not isinstance(args[i], int):
            args = list(args)
            args[i] = parse_gfp(args[i])
        return args

    gfp = staticmethod(parse_gfp)

    # -- allocation ---------------------------------------------------------------
    kmalloc = _counted_alloc("kmalloc")
    kzalloc = _counted_alloc("kzalloc")
    krealloc = _counted_alloc("krealloc")
    kmem_cache_alloc = _counted_alloc("kmem_cache_alloc")
    alloc_pages = _counted_alloc("alloc_pages")
    alloc_pages_node = _counted_alloc("alloc_pages_node", op="alloc_pages")
    kmalloc_node = _counted_alloc("kmalloc_node", op="kmalloc")
    kmem_cache_alloc_node = _counted_alloc("kmem_cache_alloc_node", op="kmem_cache_alloc")

    def numa_node_id(self):
        """The NUMA node of this CPU ([memory] nodes, cpus_per_node)."""
        return self._node.numa_node_id()

    def page_to_nid(self, page):
        return self._node.page_to_nid(page.pfn)
    get_zeroed_page = _counted_alloc("get_zeroed_page")
    kfree = _op("kfree")
    ksize = _op("ksize")
    kmem_cache_create = _op("kmem_cache_create")
    kmem_cache_free = _op("kmem_cache_free")
    kmem_cache_destroy = _op("kmem_cache_destroy")
    kmem_cache_prefill_sheaf = _counted_alloc("kmem_cache_prefill_sheaf", _sheaf_fn)
    kmem_cache_alloc_from_sheaf = _counted_alloc("kmem_cache_alloc_from_sheaf", _sheaf_fn)
    kmem_cache_return_sheaf = _op("kmem_cache_return_sheaf", _sheaf_fn)

    def kmem_cache_sheaf_size(self, cache, sheaf):
        return _sheaf_fn("kmem_cache_sheaf_size")(cache, sheaf)
    free_pages = _op("free_pages")
    vmalloc = _op("vmalloc")
    vzalloc = _op("vzalloc")
    vfree = _op("vfree")

    def page_address(self, page):
        return km.page_address(page)

    def virt_to_page(self, addr):
        return km.virt_to_page(addr)

    @staticmethod
    def page_to_pfn(page):
        return page.pfn

    def pfn_to_page(self, pfn):
        return Page(self._node, pfn)

    # -- locks ----------------------------------------------------------------------
    def lock(self, name):
        """The spinlock called ``name`` (created on first use, shared by every CPU)."""
        return self._rt.locks.get(name)

    def _l(self, lock):
        return self._rt.locks.get(lock) if isinstance(lock, str) else lock

    def spin_lock(self, lock):
        spinlock.spin_lock(self._l(lock))

    def spin_trylock(self, lock):
        return spinlock.spin_trylock(self._l(lock))

    def spin_unlock(self, lock):
        spinlock.spin_unlock(self._l(lock))

    def spin_lock_irqsave(self, lock):
        return spinlock.spin_lock_irqsave(self._l(lock))

    def spin_unlock_irqrestore(self, lock, flags):
        spinlock.spin_unlock_irqrestore(self._l(lock), flags)

    def spin_lock_irq(self, lock):
        spinlock.spin_lock_irq(self._l(lock))

    def spin_unlock_irq(self, lock):
        spinlock.spin_unlock_irq(self._l(lock))

    def spin_lock_bh(self, lock):
        spinlock.spin_lock_bh(self._l(lock))

    def spin_unlock_bh(self, lock):
        spinlock.spin_unlock_bh(self._l(lock))

    def mutex_lock(self, lock):
        """A sleeping lock (the kernel's mutex): may sleep, so not in atomic context."""
        debug.hooks.might_sleep("kernel/locking/mutex.c:mutex_lock")
        spinlock.do_raw_spin_lock(self._l(lock))

    def mutex_unlock(self, lock):
        spinlock.do_raw_spin_unlock(self._l(lock))

    def lock_at(self, addr, name="obj_lock"):
        """The spinlock embedded at the start of the object at ``addr`` (one lockdep
        class per ``name``); freeing the object while it is held is reported."""
        return self._rt.locks.get(f"{name}[{addr:#x}]")

    # -- allocation scopes (include/linux/sched/mm.h) ------------------------------------
    memalloc_nofs_save = staticmethod(sched_mm.memalloc_nofs_save)
    memalloc_nofs_restore = staticmethod(sched_mm.memalloc_nofs_restore)
    memalloc_noio_save = staticmethod(sched_mm.memalloc_noio_save)
    memalloc_noio_restore = staticmethod(sched_mm.memalloc_noio_restore)

    def fs_reclaim_acquire(self, gfp="GFP_KERNEL"):
        sched_mm.fs_reclaim_acquire(parse_gfp(gfp))

    def fs_reclaim_release(self, gfp="GFP_KERNEL"):
        sched_mm.fs_reclaim_release(parse_gfp(gfp))

    # -- context ---------------------------------------------------------------------
    local_irq_save = staticmethod(context.local_irq_save)
    local_irq_restore = staticmethod(context.local_irq_restore)
    local_irq_disable = staticmethod(context.local_irq_disable)
    local_irq_enable = staticmethod(context.local_irq_enable)
    preempt_disable = staticmethod(context.preempt_disable)
    preempt_enable = staticmethod(context.preempt_enable)
    local_bh_disable = staticmethod(context.local_bh_disable)
    local_bh_enable = staticmethod(context.local_bh_enable)
    smp_processor_id = staticmethod(context.smp_processor_id)
    in_interrupt = staticmethod(context.in_interrupt)
    in_atomic = staticmethod(context.in_atomic)
    in_softirq = staticmethod(context.in_softirq)
    in_serving_softirq = staticmethod(context.in_serving_softirq)
    in_task = staticmethod(context.in_task)
    irqs_disabled = staticmethod(context.irqs_disabled)

    def raise_softirq(self, nr=None):
        """Raise softirq ``nr`` on this CPU (default: the scenario's softirq)."""
        self._rt.raise_softirq(nr)

    def tasklet_schedule(self, fn=None):
        """Schedule ``fn(k)`` (default: the scenario's tasklet) to run once on this CPU."""
        self._rt.tasklet_schedule(fn)

    def cpu_relax(self):
        """The pause of a busy-wait loop (``while not k.READ_ONCE(flag): k.cpu_relax()``):
        under a schedule a ``relax`` yield point: the strategy runs another CPU first
        (a yield), but this CPU stays runnable -- any other CPU's write may end its
        wait; without a schedule, the OS may run another process.  As in
        the kernel it does not feed the watchdog: a wait that never ends (for a CPU
        whose setup failed, a flag nobody sets) is a soft lockup, not a hang."""
        if not self._acc.scheduled:
            os.sched_yield()
        else:
            debug.hooks.yield_point("relax")

    def cond_resched(self):
        """A point where long process-context work lets the CPU breathe: feeds the watchdog."""
        self._rt.beat[self.cpu] += 1

    # -- per-CPU variables ----------------------------------------------------------
    def _pcp_point(self, name, cpu, type):
        """The access point and KCSAN check of a this_cpu_* operation on this CPU's slot."""
        pc = self._rt.percpu
        if cpu == context.this_cpu.id:
            self._acc.percpu(self._ctx, name, pc._slot(name, cpu), pc.val, type)

    def this_cpu_read(self, name):
        """A plain read of this CPU's ``name`` (a read-modify-write built on it is not
        safe against interrupts: use this_cpu_add/inc, or interrupts off)."""
        self._pcp_point(name, context.this_cpu.id, 0)
        return self._rt.percpu.access(name, context.this_cpu.id, "irq", 0)

    def _update(self, name, cpu, protection, op, value):
        """A write or add, with interrupts off so the delta reported is exact."""
        pc = self._rt.percpu
        self._pcp_point(name, cpu, _WRITE if op == 1 else _WRITE | _RMW | _ATOMIC)
        flags = context.local_irq_save()
        try:
            old = percpu.from_slot(pc.val[pc._slot(name, cpu)])
            new = pc.access(name, cpu, protection, op, value)
            debug.hooks.percpu_update("percpu:" + name, cpu, new - old, new)
        finally:
            context.local_irq_restore(flags)
        return new

    def this_cpu_write(self, name, value):
        self._update(name, context.this_cpu.id, "irq", 1, value)

    def this_cpu_add(self, name, value):
        return self._update(name, context.this_cpu.id, "irq", 2, value)

    def this_cpu_inc(self, name):
        return self._update(name, context.this_cpu.id, "irq", 2, 1)

    def get_cpu_var(self, name):
        """Start a read-modify-write of this CPU's ``name``: preemption off (as the
        kernel's get_cpu_var), interrupts as they are -- an interrupt that updates the
        same variable before put_cpu_var() is a race the per-CPU checker reports."""
        context.preempt_disable()
        cpu = context.this_cpu
        pc = self._rt.percpu
        i = pc._slot(name, cpu.id)
        debug.hooks.percpu_enter("percpu:" + name, cpu.id, "irq" if cpu.irqs_off else "preempt")
        value = percpu.from_slot(pc.val[i])
        self._rmw.append((name, value))
        return value

    def put_cpu_var(self, name, value=None):
        """End the section get_cpu_var() began, storing ``value`` (None: unchanged)."""
        for j in range(len(self._rmw) - 1, -1, -1):
            if self._rmw[j][0] == name:
                got = self._rmw.pop(j)[1]
                break
        else:
            raise ValueError(f"put_cpu_var({name!r}) without get_cpu_var({name!r})")
        cpu = context.this_cpu.id
        pc = self._rt.percpu
        i = pc._slot(name, cpu)
        if value is not None:
            pc.val[i] = percpu.to_slot(name, value)
            debug.hooks.percpu_update("percpu:" + name, cpu, value - got, value)
        debug.hooks.percpu_exit("percpu:" + name, cpu)
        context.preempt_enable()

    @contextlib.contextmanager
    def percpu_fastpath(self, name):
        """A lock-free per-CPU fast path (as SLUB's slab_alloc_node): inside it, taking
        any lock is reported; an interrupt may come in (make the update a
        this_cpu cmpxchg that retries)."""
        cpu = context.this_cpu.id
        debug.hooks.percpu_enter("fastpath:" + name, cpu, "tid")
        try:
            yield
        finally:
            debug.hooks.percpu_exit("fastpath:" + name, cpu)

    def this_cpu_cmpxchg(self, name, old, new):
        """If this CPU's ``name`` is ``old`` set it to ``new``; returns the value found."""
        pc = self._rt.percpu
        self._pcp_point(name, context.this_cpu.id, _WRITE | _RMW | _ATOMIC)
        flags = context.local_irq_save()
        try:
            cur = pc.access(name, context.this_cpu.id, "irq", 0)
            if cur == old:
                pc.access(name, context.this_cpu.id, "irq", 1, new)
                debug.hooks.percpu_update("percpu:" + name, context.this_cpu.id, new - old, new)
        finally:
            context.local_irq_restore(flags)
        return cur

    def per_cpu(self, name, cpu):
        return self._rt.percpu.access(name, cpu, "remote", 0)

    def per_cpu_write(self, name, cpu, value):
        """Write ``cpu``'s slot; another CPU's slot is a foreign access (reported)."""
        self._update(name, cpu, "irq" if cpu == context.this_cpu.id else "foreign", 1, value)

    # -- memory ----------------------------------------------------------------------
    def _chunks(self, what, addr, n, write=False):
        """[(lo, hi)] byte ranges of page_data holding [addr, addr + n); None when
        part of it has no mapping and a checker reported the fault."""
        node = self._node
        if node.data is None:
            raise ValueError(f"k.{what}: this model has no page data (set [memory] page_data = true)")
        first, last = node.virt_to_pfn(addr), node.virt_to_pfn(addr + max(n, 1) - 1)
        if first is not None and last is not None:            # direct map: contiguous
            off = node.data_offset(addr)
            if self._tlb is not None:
                self._tlb.translate(addr, n)
            return [(off, off + n)]
        vmoff = _vmalloc_data_offset()
        start, out, end, ps = addr, [], addr + n, node.page_size
        while vmoff is not None and addr < end:
            off = vmoff(addr)
            if off is None:
                break
            step = min(end, (addr // ps + 1) * ps) - addr
            out.append((off, off + step))
            addr += step
        if addr < end or not out:
            if debug.hooks.kernel_fault(start, n, write):
                return None                                    # reported: the access is dropped
            head = ("BUG: kernel NULL pointer dereference, address: " if 0 <= start < ps
                    else "BUG: unable to handle page fault for address: ")
            raise ValueError(f"{head}{start:#x} (k.{what}({start:#x}, {n}): not a mapped "
                             "address of this model)")
        if self._tlb is not None:
            self._tlb.translate(start, n)
        return out

    def read(self, addr, n):
        data = self._node.data
        chunks = self._chunks("read", addr, n)
        self._ops[self._obase + OP["read"]] += 1
        if chunks is None:
            return bytes(n)
        self._acc.memory(self._ctx, addr, n, 0, chunks)     # a scheduling point, KCSAN
        debug.hooks.memory_access(addr, n, False)           # KASAN: check before the access
        return b"".join(bytes(data[lo:hi]) for lo, hi in chunks)

    def write(self, addr, data):
        data, page_data, pos = bytes(data), self._node.data, 0
        chunks = self._chunks("write", addr, len(data), True)
        self._ops[self._obase + OP["write"]] += 1
        if chunks is None:
            return
        self._acc.memory(self._ctx, addr, len(data), _WRITE, chunks)
        if debug.hooks.memory_access(addr, len(data), True):
            return                  # KASAN reported it: not done, so its damage is not reported again
        for lo, hi in chunks:
            page_data[lo:hi] = data[pos:pos + hi - lo]
            pos += hi - lo

    def memset(self, addr, c, n):
        page_data = self._node.data
        chunks = self._chunks("memset", addr, n, True)
        self._ops[self._obase + OP["memset"]] += 1
        if chunks is None:
            return
        self._acc.memory(self._ctx, addr, n, _WRITE, chunks)
        if debug.hooks.memory_access(addr, n, True):
            return                  # KASAN reported it: not done (see write)
        for lo, hi in chunks:
            page_data[lo:hi] = bytes([c & 0xFF]) * (hi - lo)

    def memmove(self, dst, src, n):
        """Copy ``n`` bytes (overlap allowed); KASAN checks the source as a read and
        the destination as a write, as its memmove interceptor does."""
        if n < 0:
            raise ValueError(f"k.memmove(..., {n}): a negative size")
        if not n:
            return dst
        data = self.read(src, n)
        self.write(dst, data)
        return dst

    memcpy = memmove

    def memcmp(self, a, b, n):
        """<0, 0 or >0 as the first differing byte of [a, a + n) and [b, b + n)."""
        x, y = self.read(a, n), self.read(b, n)
        return 0 if x == y else (1 if x > y else -1)

    # -- more of the kernel's allocation API (uncounted wrappers of counted calls) -------
    def kfree_sensitive(self, addr):
        """Zero the object (ksize bytes) and kfree it (kzfree before 5.9)."""
        km.kfree_sensitive(addr)
        self._ops[self._obase + OP["kfree"]] += 1

    kzfree = kfree_sensitive

    def kmem_cache_alloc_bulk(self, cache, gfp, n):
        """``n`` objects, or none at all ([]) -- kmem_cache_alloc_bulk's contract."""
        out = []
        for _ in range(n):
            obj = self.kmem_cache_alloc(cache, gfp)
            if obj is None:
                self.kmem_cache_free_bulk(cache, out)
                return []
            out.append(obj)
        return out

    def kmem_cache_free_bulk(self, cache, addrs):
        for obj in addrs:
            self.kmem_cache_free(cache, obj)

    def virt_to_phys(self, addr):
        return addr - self._node.page_offset

    def phys_to_virt(self, phys):
        return phys + self._node.page_offset

    def vmalloc_to_page(self, addr):
        return km.vmalloc_to_page(addr)

    # -- marked accesses: READ_ONCE/WRITE_ONCE, atomic_t, barriers ------------------------
    def _marked(self, what, addr, n, type):
        """KCSAN and KASAN checks of a marked access: (data offset, point after it?)."""
        chunks = self._chunks(what, addr, n)
        if len(chunks) != 1:
            raise ValueError(f"k.{what}({addr:#x}): a marked access may not cross a page of vmalloc")
        point = self._acc.memory(self._ctx, addr, n, type | _ATOMIC, chunks)
        debug.hooks.memory_access(addr, n, bool(type & _WRITE))
        return chunks[0][0], point

    def READ_ONCE(self, addr, n=8):
        """A marked read of ``n`` bytes (1, 2, 4 or 8) at ``addr``: an unsigned int."""
        lo, point = self._marked("READ_ONCE", addr, _size(n), 0)
        value = int.from_bytes(self._node.data[lo:lo + n], "little")
        if point:
            self._acc.marked_done()
        return value

    def WRITE_ONCE(self, addr, value, n=8):
        """A marked write of ``value`` as ``n`` bytes at ``addr``."""
        lo, point = self._marked("WRITE_ONCE", addr, _size(n), _WRITE)
        self._node.data[lo:lo + n] = (value & ((1 << 8 * n) - 1)).to_bytes(n, "little")
        if point:
            self._acc.marked_done()

    def atomic_read(self, v):
        lo, point = self._marked("atomic_read", v, 4, 0)
        value = int.from_bytes(self._node.data[lo:lo + 4], "little", signed=True)
        if point:
            self._acc.marked_done()
        return value

    def atomic_set(self, v, i):
        lo, point = self._marked("atomic_set", v, 4, _WRITE)
        self._node.data[lo:lo + 4] = _s32(i)
        if point:
            self._acc.marked_done()

    def _atomic_rmw(self, what, v, fn):
        """One indivisible read-modify-write of the atomic_t at ``v``: (old, new)."""
        lo, point = self._marked(what, v, 4, _WRITE | _RMW)
        acc, data = self._acc, self._node.data
        if acc.scheduled:                  # under a schedule no other CPU nor interrupt runs
            old = int.from_bytes(data[lo:lo + 4], "little", signed=True)     # until the next
            new = fn(old)                                                   # yield point
            data[lo:lo + 4] = _s32(new)
            if point:
                acc.marked_done()
            return old, new
        if acc.atomic_lock is None:
            acc.atomic_lock = self._rt.locks.get("atomic_ops").sem
        sem = acc.atomic_lock
        flags = context.local_irq_save()
        sem.acquire()
        try:
            old = int.from_bytes(data[lo:lo + 4], "little", signed=True)
            new = fn(old)
            data[lo:lo + 4] = _s32(new)
        finally:
            sem.release()
            context.local_irq_restore(flags)
        if point:
            acc.marked_done()
        return old, new

    def atomic_inc(self, v):
        self._atomic_rmw("atomic_inc", v, lambda x: x + 1)

    def atomic_dec(self, v):
        self._atomic_rmw("atomic_dec", v, lambda x: x - 1)

    def atomic_add_return(self, i, v):
        return _wrap32(self._atomic_rmw("atomic_add_return", v, lambda x: x + i)[1])

    def atomic_dec_and_test(self, v):
        """Decrement; True if the count reached zero (the last reference went)."""
        return _wrap32(self._atomic_rmw("atomic_dec_and_test", v, lambda x: x - 1)[1]) == 0

    def atomic_cmpxchg(self, v, old, new):
        """If the atomic_t at ``v`` is ``old`` make it ``new``; returns the value found."""
        return self._atomic_rmw("atomic_cmpxchg", v, lambda x: new if x == old else x)[0]

    def atomic_xchg(self, v, new):
        return self._atomic_rmw("atomic_xchg", v, lambda x: new)[0]

    def smp_mb(self):
        """A full memory barrier: a scheduling point (the model is sequentially consistent)."""
        self._acc.barrier()

    # -- mailbox ----------------------------------------------------------------------
    def send(self, cpu, addr, meta=0):
        """Hand ``addr`` to ``cpu``'s mailbox; False when it is full."""
        ok = self._rt.mailboxes.send(cpu, addr, meta)
        self._ops[self._obase + OP["send"]] += 1
        self._stat[self._sbase + STAT["mbox_sent" if ok else "mbox_full"]] += 1
        return ok

    def recv_meta(self):
        """The oldest (addr, meta) in this CPU's mailbox, or None."""
        item = self._rt.mailboxes.recv(self.cpu)
        if item is not None:
            self._ops[self._obase + OP["recv"]] += 1
            self._stat[self._sbase + STAT["mbox_recv"]] += 1
        return item

    def recv(self):
        """The oldest address in this CPU's mailbox, or None."""
        item = self.recv_meta()
        return None if item is None else item[0]


# kernel_model.boot() keyword -> the scenario key that sets it (harness/scenario/parse.py)
SCENARIO_KEYS = {"slab": ("allocator", "slab"), "page_data": ("memory", "page_data")}


def _toml(value):
    return ("true" if value else "false") if isinstance(value, bool) else f'"{value}"'


def error_text(exc, source):
    """What a workload's exception says; for a part of the model the scenario turned off
    (kernel_model.NotBootedWith) the scenario key to set, not the model's boot() advice:
    ``... without a slab allocator: set [allocator] slab = "slub" in ring.toml``."""
    key = SCENARIO_KEYS.get(getattr(exc, "option", None)) if isinstance(exc, km.NotBootedWith) else None
    if key is None:
        return None
    table, name = key
    return f"{exc.what}: set [{table}] {name} = {_toml(exc.value)} in {source}"


def _size(n):
    if n not in (1, 2, 4, 8):
        raise ValueError(f"a marked access is 1, 2, 4 or 8 bytes, not {n!r}")
    return n


def _wrap32(x):
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def _s32(x):
    return (x & 0xFFFFFFFF).to_bytes(4, "little")


def _vmalloc_data_offset():
    """kernel_model.vmalloc.vmalloc_data_offset, or None in a model without vmalloc.
    (The package's ``vmalloc`` attribute is the function, so take the module itself.)"""
    module = sys.modules.get("kernel_model.vmalloc")
    return getattr(module, "vmalloc_data_offset", None)


# Set outside the class body, where Python would mangle the leading "__".
setattr(Kernel, "__get_free_pages", _counted_alloc("__get_free_pages"))
setattr(Kernel, "__free_pages", _op("__free_pages"))
