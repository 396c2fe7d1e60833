"""Frees and memory: KASAN, SLUB_DEBUG and bad-page reports, in the kernel's words.

What reports what (the model detects, this checker words it and adds the
object's history from the slab debug data -- ``slab_common.object_info``):

    model hook                     kind              report (as the kernel prints it)
    double_free                    double-free       BUG: KASAN: double-free in kfree
      (debug state not allocated,
       or SLUB's set_freepointer
       head check)
    invalid_free                   invalid-free      BUG: KASAN: invalid-free in kfree
    slab_event wrong_cache         wrong-cache       kmem_cache_free: Wrong slab cache. A but object is from B
    memory_access (k.read/write)   use-after-free    BUG: KASAN: slab-use-after-free in F
                                   out-of-bounds     BUG: KASAN: slab-out-of-bounds in F
    slab_event object_corrupt      use-after-free    BUG kmalloc-64 (Not tainted): Poison overwritten
                                   out-of-bounds     BUG kmalloc-64 (Not tainted): Right Redzone overwritten
    slab_event alloc_allocated,    freelist-corrupt  BUG kmalloc-64 (Not tainted): Freechain corrupt /
      freelist_corrupt                               Freepointer corrupt
    slab_event cache_destroy_busy  cache-destroy-live BUG C (Not tainted): Objects remaining in C on
                                                     __kmem_cache_shutdown()
    vfree_bad                      bad-vfree         Trying to vfree() bad address / nonexistent vm area
    bad_page, page_free            bad-page          BUG: Bad page state in process P  pfn:%05lx
      (wrong order: the order the
       page was allocated with is
       in struct page)

The checker makes records (``record.Violation``): the object (address, cache,
geometry and state, for KASAN's ``Memory state around the buggy address``),
its alloc/free tracks, the model function the workload called; the words are
``harness/outputs/text.py``'s.  One bug, one report: a double free keys on the
object's allocation site (which free comes second is the interleaving's
choice); a freelist corruption on its cache; a SLUB_DEBUG redzone or poison
check that finds an object KASAN already reported at the bad access adds
nothing.

Cost: none of these hooks runs on a correct allocation or free (the model
checks its debug state itself); ``page_free`` runs on every page free (one
array read) and ``memory_access`` on every k.read/k.write (index arithmetic,
no dict), the rest only on a bug.  Leaks at the end are ``kmemleak.py``.
"""

import sys

import numpy as np

from kernel_model import context
from kernel_model import slab_common as sc, slab_debug
from kernel_model.page import PGTY_slab

from harness.runtime import opmix, workload_api
from .base import Checker
from .record import rel

# The k API is a wrapper: alloc/free tracks record the workload line calling it.  So are
# the op mixes' helpers: their tracks record the op entry's TOML line (opmix.at_line).
sc.WRAPPER_FILES.add(workload_api.__file__)
sc.WRAPPER_FILES.add(opmix.__file__)

_SKIP = ("/kernel_model/", "/harness/checkers/", "/harness/runtime/workload_api.py")
_API = ("kfree", "kmem_cache_free", "krealloc", "kvfree", "vfree", "free_pages", "__free_pages",
        "kmalloc", "kzalloc", "kmem_cache_alloc", "kmem_cache_destroy", "ksize")


def where():
    """(model API the workload called, workload function name): the API is the outermost
    model function of _API on the stack (``kfree``), the function the workload's."""
    f = sys._getframe(1)
    api = None
    while f is not None:
        fname = f.f_code.co_filename
        if "/kernel_model/" in fname:
            if f.f_code.co_name in _API:
                api = f.f_code.co_name
        elif not any(d in fname for d in _SKIP):
            return api, f.f_code.co_name
        f = f.f_back
    return api, "?"


def tracks_of(info):
    """The record's ``tracks`` from slab_common.object_info (alloc/free, when debug data exists)."""
    if not info or info.get("object") is None or "alloc" not in info:
        return {}
    return {k: info[k] for k in ("alloc", "free") if info.get(k)}


def _life(obj, info):
    """One life of an object: its address and the allocation that made it."""
    t = (info or {}).get("alloc") or {}
    return obj, t.get("cpu"), t.get("seq")


class MemoryChecker(Checker):
    name = "memory"
    KASAN_SEEN = 4096            # objects KASAN reported, whose SLUB_DEBUG echo is dropped

    def __init__(self, sink=None, pgdat=None):
        super().__init__(sink, pgdat)
        self._mm = pgdat.mem_map if pgdat is not None else None
        self._kasan_objects = set()
        self._sites, self._sites_seen = {}, -1

    def _info(self, addr):
        try:
            info = sc.object_info(addr, self.pgdat)
        except Exception:  # noqa: BLE001 - no slab layer: page-level reports only
            return None
        if info:
            for which in ("alloc", "free"):
                t = info.get(which)
                if t and t.get("cpu") == context.this_cpu.id:
                    t["site"] = self._full_site(t["site"])
        return info

    def _full_site(self, site):
        """A track's site with its whole path: the model keeps ``file.py:12 (f)``; this
        CPU's own sites are in the slab layer's per-process table (code, line) -> id."""
        ids = self.pgdat.slab.site_ids
        if len(ids) != self._sites_seen:
            self._sites_seen = len(ids)
            self._sites = {f"{c.co_filename.rsplit('/', 1)[-1]}:{line} ({c.co_name})":
                           f"{rel(c.co_filename)}:{line} ({c.co_name})" for c, line in ids}
        return self._sites.get(site, site)

    def _object(self, addr, info):
        """The record's object: the address and, in a slab, the object's geometry and state."""
        o = {"address": addr}
        if not info:
            return o
        o["cache"] = info.get("cache")
        if info.get("object") is None:
            return o
        o.update(object=info["object"], object_size=info["object_size"],
                 size=info.get("orig_size") or info["object_size"], state=info.get("state"))
        try:
            s = sc.find_cache(info["cache"], self.pgdat)
            node, head = self.pgdat, info["slab_pfn"]
            o.update(slot_size=s.size, red_left_pad=s.red_left_pad,
                     slab_start=node.page_offset + (head << node.page_shift)
                     + node.slab.allocator.slab_base(s, head))
        except Exception:  # noqa: BLE001 - geometry is for the memory-state rows only
            pass
        return o

    def _kasan_free_report(self, kind, addr, model_text):
        api, _ = where()
        info = self._info(addr)
        details = {"message": model_text}
        tracks = tracks_of(info)
        free = tracks.get("free")
        if kind == "double-free" and free and free["cpu"] != context.this_cpu.id:
            details["cross_cpu_free"] = free["cpu"]
        alloc = tracks.get("alloc")
        # Which of two frees comes second is the interleaving's choice: a double free
        # is one bug per allocation site.
        # (The track's file name alone: this CPU's tracks carry the whole path, others' not.)
        key_site = (f"object allocated at {alloc['site'].rsplit('/', 1)[-1]}"
                    if kind == "double-free" and alloc else "")
        self.violation(kind, function=api or "kfree", objects=[self._object(addr, info)],
                       tracks=tracks, details=details, key_site=key_site)

    # -- frees --------------------------------------------------------------------------
    def double_free(self, cache_name, addr, text):
        self._kasan_free_report("double-free", addr, text)

    def invalid_free(self, cache_name, addr, text):
        self._kasan_free_report("invalid-free", addr, text)

    def vfree_bad(self, addr, text):
        info = self._info(addr)
        obj = self._object(addr, info)
        self.violation("bad-vfree", function="vfree", objects=[obj],
                       tracks=tracks_of(info), details={"message": text})

    # -- slab events ----------------------------------------------------------------------
    def slab_event(self, event, **info):
        handler = getattr(self, "_ev_" + event, None)
        if handler is not None:
            handler(**info)

    def _slub_report(self, kind, cache, addr, details, key_site=""):
        info = self._info(addr)
        obj = self._object(addr, info)
        obj.setdefault("cache", cache)
        if info and info.get("slab_pfn") is not None:
            node = self.pgdat
            mm = node.mem_map
            head = info["slab_pfn"]
            co = mm.slab_counters[head]
            details["slab"] = {"address": node.page_offset + (head << node.page_shift),
                               "objects": sc.slab_objects(co), "used": sc.slab_inuse(co),
                               "fp": mm.slab_freelist[head]}
        self.violation(kind, function=where()[0] or "", objects=[obj], tracks=tracks_of(info),
                       details=details, key_site=key_site)

    def _ev_object_corrupt(self, cache, addr, what, fault, end, found, expected):
        kind = "use-after-free" if "Poison" in what else "out-of-bounds"
        if self._kasan_objects and _life(addr, self._info(addr)) in self._kasan_objects:
            return                  # KASAN reported this object at the bad access already
        when = ("allocated-again" if kind == "use-after-free" or expected == sc.SLUB_RED_INACTIVE
                else "freed")
        self._slub_report(kind, cache, addr, {
            "what": f"{what} overwritten", "fault": fault, "end": end, "found": found,
            "expected": expected, "found_when": when})
        # restore_bytes() already put the pattern back, as the kernel does:
        # FIX <cache>: Restoring <what> <range>=<value>

    def _ev_alloc_allocated(self, cache, addr):
        self._slub_report("freelist-corrupt", cache, addr,
                          {"what": "Freechain corrupt", "cause": "handed-out-allocated"},
                          key_site=f"freelist of {cache}")

    def _ev_freelist_corrupt(self, cache, addr, fp, what):
        self._slub_report("freelist-corrupt", cache, addr,
                          {"what": what, "fp": fp,
                           "cause": "freelist-loop" if fp == addr else "fp-outside-slab"},
                          key_site=f"freelist of {cache}")

    def _ev_wrong_cache(self, cache, addr, real):
        info = self._info(addr)
        self.violation("wrong-cache", function="kmem_cache_free",
                       objects=[self._object(addr, info)], tracks=tracks_of(info),
                       details={"cache": cache, "real": real})

    def _ev_cache_destroy_busy(self, cache, remaining):
        objs = [{"address": obj, "alloc": (info or {}).get("alloc")}
                for obj, info in self._live_objects(cache, 8)]
        first = next((o["alloc"] for o in objs if o["alloc"]), None)
        self.violation("cache-destroy-live", function="kmem_cache_destroy", objects=objs,
                       tracks={"alloc": first} if first else {},
                       details={"cache": cache, "remaining": remaining})

    def _live_objects(self, cache_name, limit):
        """[(addr, object_info)] of allocated objects of a cache (at most ``limit``)."""
        out = []
        try:
            s = sc.find_cache(cache_name, self.pgdat)
        except Exception:  # noqa: BLE001
            return out
        if s is None or not s.debug:
            return out
        node, st = self.pgdat, s.state
        mm = node.mem_map
        heads = np.nonzero((np.frombuffer(mm.type, dtype=np.uint8) == PGTY_slab)
                           & (np.frombuffer(mm.slab_cache, dtype=np.dtype(mm.slab_cache.format))
                              == s.cache_ref))[0]
        for head in heads:
            head = int(head)
            base = (node.page_offset + (head << node.page_shift)
                    + st.allocator.slab_base(s, head) + s.red_left_pad)
            objects = sc.slab_objects(mm.slab_counters[head])
            for idx in range(objects):
                if st.obj_state[head * st.rows_per_page + idx] == sc.OBJ_ALLOCATED:
                    obj = base + idx * s.size
                    out.append((obj, sc.object_info(obj, node)))
                    if len(out) >= limit:
                        return out
        return out

    # -- KASAN: k.read / k.write -------------------------------------------------------------
    def memory_access(self, addr, size, write):
        node = self.pgdat
        if node is None or getattr(node, "slab", None) is None:
            return False
        head = sc.virt_to_slab(node, addr)
        if head is None:
            return False                        # page allocator or vmalloc memory
        st = node.slab
        s = sc.cache_by_id(st, node.mem_map.slab_cache[head] - 1)
        if s is None:
            return False
        base = node.page_offset + (head << node.page_shift) + st.allocator.slab_base(s, head)
        rel = addr - base
        idx = rel // s.size
        if rel < 0 or idx >= s.objects:
            return self._bad_access("slab-out-of-bounds", addr, size, write)
        obj = base + idx * s.size + s.red_left_pad
        alloc_size = s.object_size
        slot = base + idx * s.size
        ctor_object = slab_debug.ctor_object
        if ctor_object is not None and slot <= ctor_object < slot + s.size \
                and obj <= addr and addr + size <= obj + s.object_size:
            return False                        # the constructor writes its own new object
        if s.debug:
            row = head * st.rows_per_page + idx
            if st.obj_state[row] != sc.OBJ_ALLOCATED:
                return self._bad_access("slab-use-after-free", addr, size, write)
            if s.kmalloc:
                alloc_size = st.orig_size[row]
        if addr < obj or addr + size > obj + alloc_size:
            return self._bad_access("slab-out-of-bounds", addr, size, write)
        return False

    def _bad_access(self, bug, addr, size, write):
        _api, func = where()
        info = self._info(addr)
        kind = "use-after-free" if bug == "slab-use-after-free" else "out-of-bounds"
        obj = self._object(addr, info)          # the access's start address, as KASAN prints it
        if obj.get("object") is not None and len(self._kasan_objects) < self.KASAN_SEEN:
            self._kasan_objects.add(_life(obj["object"], info))
        self.violation(kind, function=func, objects=[obj], tracks=tracks_of(info),
                       details={"bug": bug, "size": size, "write": bool(write)})
        return True

    # -- pages ---------------------------------------------------------------------------------
    def page_free(self, pfn, order):
        mm = self._mm
        if mm is not None and mm.order[pfn] != order:
            self._bad_page(pfn, f"freed with order {order} but allocated with order "
                                f"{mm.order[pfn]} (free_pages/__free_pages must get the order "
                                "of the allocation)", "bad-page")
            return True          # not freed: a wrong-order free would corrupt the free lists
        return False

    def bad_page(self, pfn, reason):
        kind = "double-free" if "double free" in reason else "bad-page"
        self._bad_page(pfn, reason, kind)

    def _bad_page(self, pfn, reason, kind):
        node = self.pgdat
        page = {"pfn": pfn}
        if node is not None and 0 <= pfn < node.nr_pages:
            mm = node.mem_map
            page.update(refcount=int(mm.ref[pfn]), mapping=int(mm.mapping[pfn]),
                        flags=int(mm.flags[pfn]))
        api, _ = where()
        self.violation(kind, function=api or "__free_pages", objects=[page],
                       details={"reason": reason, "page": True})
