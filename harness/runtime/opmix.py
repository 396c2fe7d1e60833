"""Built-in op mixes: a context's work described as data instead of code.

A mix is a weighted list of allocation ops (op, size or order distribution,
gfp) plus a free policy.  Each step either frees one object the context holds
(always when it holds ``max_held``, else with probability ``free``) or
allocates with an op drawn by weight.  A freed object goes, with probability
``remote_free``, to another CPU's mailbox instead (the receiving CPU frees it
in process context, one per step) -- cross-CPU frees.  Everything a mix still
holds at the end is freed by ``drain`` in the CPU's teardown.

Sites.  An op entry's calls run through a one-line function compiled at the
entry's TOML line (``at_line``): the frame that calls the ``k`` API is then
``scenarios/bugs/x.toml:15 ([hardirq] kmalloc)``, so reports, allocation
tracks and tracebacks name the TOML line that asked for the op (frees: the
mix's table line), as they name a workload module's line.

Mailbox ``meta`` word of a handed-off object: ``kind | order << 8 | cache << 16``
with kind KIND_* below; the address field is the object's address (a pfn for
``alloc_pages``, whose pages may have no address on x86_32 HighMem).
"""

import math

from harness.runtime.paths import rel

KIND_KMALLOC, KIND_CACHE, KIND_PAGES, KIND_GFP_PAGES, KIND_VMALLOC = range(1, 6)

# op name -> (kind, takes "size" (True) or "order" (False), takes gfp)
OPS = {
    "kmalloc": (KIND_KMALLOC, True, True),
    "kzalloc": (KIND_KMALLOC, True, True),
    "kmem_cache_alloc": (KIND_CACHE, True, True),
    "alloc_pages": (KIND_PAGES, False, True),
    "__get_free_pages": (KIND_GFP_PAGES, False, True),
    "get_zeroed_page": (KIND_GFP_PAGES, False, True),
    "vmalloc": (KIND_VMALLOC, True, False),
    "vzalloc": (KIND_VMALLOC, True, False),
}
ALIASES = {"get_free_pages": "__get_free_pages"}
SLAB_OPS = {"kmalloc", "kzalloc", "kmem_cache_alloc", "vmalloc", "vzalloc"}


class Dist:
    """An int distribution: fixed, uniform on [lo, hi], or log-uniform on [lo, hi]."""

    def __init__(self, lo, hi=None, kind="log"):
        self.lo, self.hi = lo, lo if hi is None else hi
        self.kind = kind if self.hi > self.lo else "fixed"
        if self.kind == "log":
            # log-uniform on [lo + 1, hi + 2) shifted back by one: orders may start at 0
            self._a, self._b = math.log(self.lo + 1), math.log(self.hi + 2)

    def draw(self, rng):
        if self.kind == "fixed":
            return self.lo
        if self.kind == "uniform":
            return rng.randint(self.lo, self.hi)
        return min(self.hi, int(math.exp(rng.uniform(self._a, self._b))) - 1)

    def __repr__(self):
        return str(self.lo) if self.kind == "fixed" else f"{self.lo}..{self.hi} ({self.kind})"


def at_line(path, line, name):
    """``f(fn, *args) -> fn(*args)`` whose frame is at ``path:line`` and is called ``name``."""
    ns = {}
    exec(compile("\n" * (max(line, 1) - 1) + "def _op(fn, *args): return fn(*args)\n",
                 path, "exec"), ns)
    fn = ns["_op"]
    fn.__code__ = fn.__code__.replace(co_name=name)
    return fn


def _direct(fn, *args):
    return fn(*args)


class OpSpec:
    """One validated entry of a mix; ``where``/``free_where``: (TOML path, line, name) of
    the entry and of its mix's table (see Sites above)."""

    def __init__(self, op, dist, gfp, weight, cache=None, where=None, free_where=None):
        self.op, self.dist, self.gfp, self.weight, self.cache = op, dist, gfp, weight, cache
        self.kind = OPS[op][0]
        self.call = at_line(*where) if where else _direct
        self.free_call = at_line(*free_where) if free_where else _direct
        self.site = f"{rel(where[0])}:{where[1]} ({where[2]})" if where else ""


class OpMix:
    """One context's mix on one CPU; ``step(k)`` is one unit of that context's work."""

    def __init__(self, specs, max_held, free, remote_free, receive, caches=()):
        self.specs = specs
        self.max_held = max_held
        self.p_free = free
        self.remote_free = remote_free
        self.receive = receive
        self.caches = list(caches)      # cache index (spec.cache) -> kmem_cache
        self.held = []                  # [(addr or pfn, meta)]
        self.free_call = specs[0].free_call if specs else _direct   # frees: the table's line
        total = sum(s.weight for s in specs)
        acc, self.cum = 0.0, []
        for s in specs:
            acc += s.weight / total
            self.cum.append(acc)

    def step(self, k):
        if self.receive:
            item = k.recv_meta()
            if item is not None:
                self.free_call(free_item, k, item[0], item[1], self.caches)
        held, rng = self.held, k.rng
        if held and (len(held) >= self.max_held or rng.random() < self.p_free):
            i = rng.randrange(len(held))
            held[i], held[-1] = held[-1], held[i]
            handle, meta = held.pop()
            if self.remote_free and k.nr_cpus > 1 and rng.random() < self.remote_free:
                target = rng.randrange(k.nr_cpus - 1)
                target += target >= k.cpu
                if k.send(target, handle, meta):
                    return
            self.free_call(free_item, k, handle, meta, self.caches)
        elif self.max_held:
            u = rng.random()
            spec = self.specs[-1]
            for s, c in zip(self.specs, self.cum):
                if u < c:
                    spec = s
                    break
            got = self._alloc(k, spec)
            if got is not None:
                held.append(got)

    def _alloc(self, k, s):
        n = s.dist.draw(k.rng)
        op, call = s.op, s.call
        if op == "kmalloc":
            addr = call(k.kmalloc, n, s.gfp)
        elif op == "kzalloc":
            addr = call(k.kzalloc, n, s.gfp)
        elif op == "kmem_cache_alloc":
            addr = call(k.kmem_cache_alloc, self.caches[s.cache], s.gfp)
            return None if not addr else (addr, KIND_CACHE | s.cache << 16)
        elif op == "alloc_pages":
            page = call(k.alloc_pages, s.gfp, n)
            return None if page is None else (page.pfn, KIND_PAGES | n << 8)
        elif op == "__get_free_pages":
            addr = call(getattr(k, "__get_free_pages"), s.gfp, n)
            return None if not addr else (addr, KIND_GFP_PAGES | n << 8)
        elif op == "get_zeroed_page":
            addr = call(k.get_zeroed_page, s.gfp)
            return None if not addr else (addr, KIND_GFP_PAGES)
        elif op == "vmalloc":
            addr = call(k.vmalloc, n)
        else:
            addr = call(k.vzalloc, n)
        return None if not addr else (addr, s.kind)

    def drain(self, k):
        """Free everything held (teardown, process context of the same CPU)."""
        held, self.held = self.held, []
        for handle, meta in held:
            self.free_call(free_item, k, handle, meta, self.caches)


def free_item(k, handle, meta, caches):
    """Free an object by its (address or pfn, meta) pair."""
    kind, order = meta & 0xFF, (meta >> 8) & 0xFF
    if kind == KIND_KMALLOC:
        k.kfree(handle)
    elif kind == KIND_CACHE:
        k.kmem_cache_free(caches[meta >> 16], handle)
    elif kind == KIND_PAGES:
        getattr(k, "__free_pages")(k.pfn_to_page(handle), order)
    elif kind == KIND_GFP_PAGES:
        k.free_pages(handle, order)
    elif kind == KIND_VMALLOC:
        k.vfree(handle)
    else:
        raise ValueError(f"mailbox entry {handle:#x} with unknown meta {meta:#x}")
