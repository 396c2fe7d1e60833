"""``k``: the kernel as seen from one CPU and one context -- the public workload API.

A workload module's functions each receive the ``k`` of the CPU and context
they run in::

    def setup(k): ...      # once per CPU, process context
    def process(k): ...    # one iteration of process-context work
    def hardirq(k): ...    # one hardware interrupt
    def softirq(k): ...    # the scenario's softirq (NET_RX_SOFTIRQ)
    def tasklet(k): ...    # the scenario's tasklet
    def teardown(k): ...   # once per CPU at the end, process context

Names and meanings are the kernel's; results are the kernel's (None is NULL).
GFP masks are ints (``from kernel_model.gfp import GFP_KERNEL``) or strings
(``"GFP_ATOMIC|__GFP_ZERO"``).

Allocation   kmalloc(size, gfp) kzalloc kfree(addr) ksize krealloc(addr, size, gfp)
             kmem_cache_create(name, size, ...) kmem_cache_alloc(cache, gfp)
             kmem_cache_free(cache, addr) kmem_cache_destroy(cache)
             alloc_pages(gfp, order) -> page   __free_pages(page, order)
             __get_free_pages(gfp, order) -> addr   get_zeroed_page(gfp)
             free_pages(addr, order)   page_address(page)   virt_to_page(addr)
             page_to_pfn(page)  pfn_to_page(pfn)   vmalloc(size) vzalloc vfree(addr)
Locks        lock(name) -> spinlock_t (the same lock on every CPU);
             spin_lock/spin_unlock, spin_trylock, spin_lock_irqsave -> flags /
             spin_unlock_irqrestore(lock, flags), spin_lock_irq/spin_unlock_irq,
             spin_lock_bh/spin_unlock_bh  (a lock or a lock name)
Context      local_irq_save -> flags / local_irq_restore(flags), local_irq_disable/
             enable, preempt_disable/enable, local_bh_disable/enable,
             raise_softirq(nr=NET_RX_SOFTIRQ), tasklet_schedule(fn=None: the
             scenario's tasklet), smp_processor_id, in_interrupt, in_atomic,
             in_softirq, in_task, irqs_disabled, cond_resched
Per-CPU      this_cpu_read/this_cpu_write/this_cpu_inc/this_cpu_add(name, ...),
             per_cpu(name, cpu), per_cpu_write(name, cpu, value)  (deliberate
             foreign access, visible to the per-CPU checker)
Memory       read(addr, n) -> bytes, write(addr, data), memset(addr, c, n)
Mailbox      send(cpu, addr, meta=0) -> False when full; recv() -> addr or None;
             recv_meta() -> (addr, meta) or None
Other        rng (random.Random seeded from the run's seed, CPU and context),
             cpu, nr_cpus, context ("process", "hardirq", "softirq", "tasklet"),
             gfp(text) -> int

Every allocator call is counted per CPU, context and op in the arena, and the
CPU's ``cpu_doing`` word names the call in progress (the watchdog shows it).
"""

import kernel_model as km
from kernel_model import context, gfp as gfp_mod, spinlock
from kernel_model.page import Page

from .counters import CONTEXTS, OP, OP_CALL, STAT, ops_base

_GFP_CACHE = {}


def parse_gfp(value):
    """int or "GFP_KERNEL|__GFP_ZERO" -> int (cached)."""
    if isinstance(value, int):
        return value
    g = _GFP_CACHE.get(value)
    if g is None:
        g = _GFP_CACHE[value] = gfp_mod.parse_gfp(value)
    return g


def _slab_fn(name):
    fn = getattr(km, name, None)
    if fn is None:
        raise NotImplementedError(f"{name}(): this model has no slab allocator yet "
                                  "(boot with [allocator] slab = ...)")
    return fn


def _op(name, resolve=_slab_fn):
    """A counted k method calling the model function ``name``."""
    code = OP[name]

    def method(self, *args):
        fn = self._fns.get(name)
        if fn is None:
            fn = self._fns[name] = resolve(name)
        self._doing[self.cpu] = self._dcode | code
        result = fn(*args)
        self._ops[self._obase + code] += 1
        self._doing[self.cpu] = self._dcode
        return result
    method.__name__ = name
    method.__doc__ = f"The model's {name}(), counted."
    return method


def _counted_alloc(name):
    """Like _op, for allocators taking gfp: parse string masks, count NULL."""
    code = OP[name]

    def method(self, *args):
        fn = self._fns.get(name)
        if fn is None:
            fn = self._fns[name] = _model_fn(name)
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
    return getattr(km, name, None) or _slab_fn(name)


# Position of the gfp argument in each allocator's signature.
_GFP_ARG = {"kmalloc": 1, "kzalloc": 1, "krealloc": 2, "kmem_cache_alloc": 1,
            "alloc_pages": 0, "__get_free_pages": 0, "get_zeroed_page": 0}


class Kernel:
    """``k`` for one CPU and context (see the module docstring for the API)."""

    def __init__(self, rt, ctx, rng):
        self._rt = rt
        self.cpu = rt.cpu_id
        self.nr_cpus = rt.nr_cpus
        self.context = CONTEXTS[ctx]
        self.rng = rng
        self._ctx = ctx
        self._fns = {}
        self._ops = rt.ops
        self._obase = ops_base(self.cpu, ctx)
        self._stat = rt.stat
        self._sbase = rt.sbase
        self._doing = rt.doing
        self._dcode = (ctx << 16) | OP_CALL
        self._node = rt.node

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
    get_zeroed_page = _counted_alloc("get_zeroed_page")
    kfree = _op("kfree")
    ksize = _op("ksize")
    kmem_cache_create = _op("kmem_cache_create")
    kmem_cache_free = _op("kmem_cache_free")
    kmem_cache_destroy = _op("kmem_cache_destroy")
    free_pages = _op("free_pages", _model_fn)
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

    def cond_resched(self):
        """A point where long process-context work lets the CPU breathe: feeds the watchdog."""
        self._rt.beat[self.cpu] += 1

    # -- per-CPU variables ----------------------------------------------------------
    def this_cpu_read(self, name):
        return self._rt.percpu.access(name, context.this_cpu.id, "irq", 0)

    def this_cpu_write(self, name, value):
        self._rt.percpu.access(name, context.this_cpu.id, "irq", 1, value)

    def this_cpu_add(self, name, value):
        return self._rt.percpu.access(name, context.this_cpu.id, "irq", 2, value)

    def this_cpu_inc(self, name):
        return self._rt.percpu.access(name, context.this_cpu.id, "irq", 2, 1)

    def per_cpu(self, name, cpu):
        return self._rt.percpu.access(name, cpu, "remote", 0)

    def per_cpu_write(self, name, cpu, value):
        self._rt.percpu.access(name, cpu, "remote", 1, value)

    # -- memory ----------------------------------------------------------------------
    def _chunks(self, what, addr, n):
        """[(lo, hi)] byte ranges of page_data holding [addr, addr + n)."""
        node = self._node
        if node.data is None:
            raise ValueError(f"k.{what}: this model has no page data (set [memory] page_data = true)")
        first, last = node.virt_to_pfn(addr), node.virt_to_pfn(addr + max(n, 1) - 1)
        if first is not None and last is not None:            # direct map: contiguous
            off = node.data_offset(addr)
            return [(off, off + n)]
        vmoff = getattr(km.vmalloc, "vmalloc_data_offset", None) if hasattr(km, "vmalloc") else None
        out, end, ps = [], addr + n, node.page_size
        while vmoff is not None and addr < end:
            off = vmoff(addr)
            if off is None:
                break
            step = min(end, (addr // ps + 1) * ps) - addr
            out.append((off, off + step))
            addr += step
        if addr < end or not out:
            raise ValueError(f"k.{what}({addr:#x}, {n}): not a mapped address of this model")
        return out

    def read(self, addr, n):
        data = self._node.data
        out = b"".join(bytes(data[lo:hi]) for lo, hi in self._chunks("read", addr, n))
        self._ops[self._obase + OP["read"]] += 1
        return out

    def write(self, addr, data):
        data, page_data, pos = bytes(data), self._node.data, 0
        for lo, hi in self._chunks("write", addr, len(data)):
            page_data[lo:hi] = data[pos:pos + hi - lo]
            pos += hi - lo
        self._ops[self._obase + OP["write"]] += 1

    def memset(self, addr, c, n):
        page_data = self._node.data
        for lo, hi in self._chunks("memset", addr, n):
            page_data[lo:hi] = bytes([c & 0xFF]) * (hi - lo)
        self._ops[self._obase + OP["memset"]] += 1

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


# Set outside the class body, where Python would mangle the leading "__".
setattr(Kernel, "__get_free_pages", _counted_alloc("__get_free_pages"))
setattr(Kernel, "__free_pages", _op("__free_pages", _model_fn))
