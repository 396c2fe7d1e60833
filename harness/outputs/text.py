"""Kernel-style text of a violation record: the splat a person reads.

Reads the record dicts of ``harness/checkers/record.py`` (as sent by the CPUs
and merged by ``merge.py``) and words them the way the kernel prints the same
bug: lockdep's reports, ``BUG: sleeping function called from invalid
context``, KASAN's and SLUB_DEBUG's, ``BUG: Bad page state``, kmemleak's
list.  Every splat has the same frame::

    <header naming the workload site>          BUG: KASAN: double-free in kfree
    <the kind's facts>                         Free of addr ... by task mmstress/0/1234
    CPU: N PID: P Comm: mmstress/N             (+ context and op count)
    Call Trace:
     <IRQ> or <TASK>                           (the interrupt's frames end at its entry)
     <workload frames, innermost first>
     </IRQ> or </TASK>
    <the kind's trailer>                       Allocated by / Freed by / memory state
    <repeat count, per CPU and context>
    What to do: ... / (mmstress explain KIND)

``title(rec)`` is the header's first line (what JSON and JUnit carry);
``render(rec)`` the whole splat.  Both escape control characters
(``harness.exits.printable``): messages and names come from user files.  A record made by the old ``emit(kind,
text)`` API carries its checker's ``text`` and is printed as it is, inside
the same frame.  Each kind's words live in one small function in ``BODIES``.
"""

import sys

from harness.checkers import record
from harness.checkers.kinds import KINDS
from harness.exits import printable

KASAN_LINE = "=" * 66
SLUB_LINE = "=" * 77
SLUB_DASH = "-" * 77
GRANULE = 8              # KASAN shadow granule (KASAN_SHADOW_SCALE_SIZE)
SHADOW_ROW = 16          # shadow bytes per "Memory state" row
SLAB_REDZONE, SLAB_FREE = 0xFC, 0xFB   # KASAN_SLAB_REDZONE, KASAN_SLAB_FREE


def _d(rec):
    return rec.get("details") or {}


def _obj(rec):
    objs = rec.get("objects") or []
    return objs[0] if objs else {}


def _hex(v):
    return f"{v:#x}" if isinstance(v, int) else str(v)


def _task(rec):
    return f"{rec.get('comm') or 'mmstress'}/{rec.get('pid', 0)}"


# --- pieces shared by several kinds ---------------------------------------------------------
def held_lines(rec):
    """lockdep_print_held_locks(): ``N locks held by comm/pid:`` and one line per lock."""
    held = rec.get("locks_held") or []
    if not held:
        return [f"no locks held by {_task(rec)}."]
    n = len(held)
    out = [f"{n} lock{'s' if n > 1 else ''} held by {_task(rec)}:"]
    for i, h in enumerate(held):
        out.append(f" #{i}: ({h.get('name')}), at: {h.get('site') or '?'}")
    return out


def track_lines(label, t):
    """``Allocated by task 1234 on cpu 0 (process context, op 57):`` + the site line."""
    if not t:
        return [f"{label}: no record (the object was never {label.lower()})"]
    return [f"{label} by task {t.get('pid', '?')} on cpu {t.get('cpu', '?')} "
            f"({t.get('context', '?')} context, op {t.get('seq', '?')}):",
            f" {t.get('site') or '?'}"]


def history_lines(rec):
    tracks = rec.get("tracks") or {}
    out = []
    if "alloc" in tracks:
        out += track_lines("Allocated", tracks["alloc"]) + [""]
        if tracks.get("free"):
            out += track_lines("Freed", tracks["free"]) + [""]
    return out


def describe_object(addr, o, state=""):
    """KASAN's describe_object_addr(): where the address is relative to the object."""
    obj, size = o["object"], o.get("size") or o.get("object_size")
    if addr < obj:
        rel, how = obj - addr, "to the left"
    elif addr >= obj + size:
        rel, how = addr - (obj + size), "to the right"
    else:
        rel, how = addr - obj, "inside"
    return [f"The buggy address belongs to the object at {obj:#x}",
            f" which belongs to the cache {o.get('cache')} of size {o.get('object_size')}",
            f"The buggy address is located {rel} bytes {how} of",
            f" {state}{size}-byte region [{obj:#x}, {obj + size:#x})"]


def _shadow(x, o):
    """The shadow byte KASAN would hold for the granule at ``x`` (object layout of ``o``)."""
    slot, first = o["slot_size"], o["slab_start"]
    if x < first:
        return SLAB_REDZONE
    off = (x - first) % slot
    start = x - off + o["red_left_pad"]
    if x < start:
        return SLAB_REDZONE
    if start == o["object"]:
        if o.get("state") in ("free", "quarantined"):     # slab_common.OBJ_STATE_NAMES
            return SLAB_FREE if x < start + o["object_size"] else SLAB_REDZONE
        end = start + o.get("size", o["object_size"])
    else:
        end = start + o["object_size"]        # a neighbour: taken as allocated, whole
    if x + GRANULE <= end:
        return 0
    if x < end:
        return end - x                         # a partial granule: that many bytes good
    return SLAB_REDZONE


def memory_state(addr, o):
    """KASAN's ``Memory state around the buggy address`` rows (object and redzone markers)."""
    if not {"slot_size", "slab_start", "red_left_pad", "object"} <= set(o):
        return []
    span = GRANULE * SHADOW_ROW
    row0 = addr - addr % span
    out = ["", "Memory state around the buggy address:"]
    for r in range(-2, 3):
        base = row0 + r * span
        cells = " ".join(f"{_shadow(base + i * GRANULE, o):02x}" for i in range(SHADOW_ROW))
        out.append(f"{'>' if r == 0 else ' '}{base:x}: {cells}")
        if r == 0:
            col = (addr - base) // GRANULE
            out.append(" " * (len(f"{base:x}: ") + 1 + 3 * col) + "^")
    return out


# --- the kinds --------------------------------------------------------------------------------
def _sleep(rec):
    d = _d(rec)
    head = f"BUG: sleeping function called from invalid context at {rec.get('site')}"
    body = [f"in_atomic(): {int(d.get('preempt_count', 0) != 0)}, irqs_disabled(): "
            f"{int(bool(d.get('irqs_disabled')))}, non_block: 0, pid: {rec.get('pid')}, "
            f"name: {rec.get('comm')}",
            f"preempt_count: {d.get('preempt_count', 0):x}, expected: 0"]
    body += held_lines(rec)
    after = [f"{rec.get('function') or 'the allocation'} ({d.get('where', '?')})"
             + (f" with {d['gfp']}" if d.get("gfp") else "") + f" in {rec.get('context')} context",
             f"Hint: {d['advice']}." if d.get("advice") else ""]
    return head, body, after


def _warn_header(rec):
    return f"WARNING: CPU: {rec.get('cpu')} PID: {rec.get('pid')} at {rec.get('site')}"


def _gfp_message(rec):
    d = _d(rec)
    return [d["message"]] if d.get("message") else []


def _gfp(rec):
    kind, d = rec["kind"], _d(rec)
    if kind == "gfp-zone-bad":
        head = f"kernel BUG at include/linux/gfp.h: GFP_ZONE_BAD in gfp_zone() at {rec.get('site')}"
        body = [f"gfp_mask: {_hex(d.get('gfp'))}({d.get('gfp_text')}): zone modifiers "
                f"{d.get('zone_text')} name no zone",
                "(mmstress failed the allocation, returning NULL, instead of stopping)"]
    elif d.get("from_model"):               # the model's slow-path warning, in its words
        head = _warn_header(rec)
        body = _gfp_message(rec)
    elif kind == "gfp-nofail-atomic":
        head = _warn_header(rec)
        body = [f"__GFP_NOFAIL without __GFP_DIRECT_RECLAIM ({d.get('gfp_text')}): the allocator "
                "cannot guarantee it"]
    elif kind == "gfp-nofail-costly":
        head = _warn_header(rec)
        body = [f"__GFP_NOFAIL at costly order {d.get('order')} "
                "(above PAGE_ALLOC_COSTLY_ORDER)"]
    elif kind == "gfp-dma-zone":
        head = f"GFP_DMA allocation outside ZONE_DMA at {rec.get('site')}"
        body = [f"pfn {_hex(d.get('pfn'))} order {d.get('order')} is above 16 MiB"]
    else:                                   # gfp-slab-bug, gfp-highmem-address: the model's words
        head = _warn_header(rec)
        body = _gfp_message(rec)
    return head, body, []


def _lock_name(x):
    return f"({x})"


def _recursive(rec):
    d = _d(rec)
    head = ("WARNING: possible recursive locking detected" if rec["kind"] == "lock-recursive"
            else "WARNING: possible recursive locking detected (fs_reclaim)")
    body = [f"{_task(rec)} is trying to acquire lock:", f" {_lock_name(d.get('lock'))}, at: {rec.get('site')}",
            "", "but task is already holding lock:",
            f" {_lock_name(d.get('held'))}, at: {d.get('held_site', '?')}", "",
            "other info that might help us debug this:",
            " Possible unsafe locking scenario:", "       CPU0", "       ----",
            f"  lock({d.get('class')});", f"  lock({d.get('class')});", "", " *** DEADLOCK ***", ""]
    return head, body + held_lines(rec), []


def _circular(rec):
    d = _d(rec)
    head = "WARNING: possible circular locking dependency detected"
    body = [f"{_task(rec)} is trying to acquire lock:", f" {_lock_name(d.get('lock'))}, at: {rec.get('site')}",
            "", "but task is already holding lock:",
            f" {_lock_name(d.get('held'))}, at: {d.get('held_site', '?')}", "",
            "which lock already depends on the new lock.", "",
            "the existing dependency chain (in reverse order) is:"]
    chain = rec.get("lock_chain") or []
    for i, edge in reversed(list(enumerate(chain))):
        body += ["", f"-> #{i} ({edge.get('lock')}):",
                 f"       acquired while holding ({edge.get('after')}) on CPU {edge.get('cpu', '?')}",
                 f"       at: {edge.get('site') or '?'}"]
    a, b = d.get("held_class"), d.get("lock_class")
    body += ["", "other info that might help us debug this:", "",
             " Possible unsafe locking scenario:", "",
             "       CPU0                    CPU1", "       ----                    ----",
             f"  lock({a});", f"                               lock({b});",
             f"                               lock({a});", f"  lock({b});", "",
             " *** DEADLOCK ***", ""]
    return head, body + held_lines(rec), []


def _inconsistent(rec):
    d = _d(rec)
    cls = d.get("class")
    head = "WARNING: inconsistent lock state"
    body = [f"inconsistent {{{d.get('from_state')}}} -> {{{d.get('to_state')}}} usage.",
            f"{_task(rec)} [HC{d.get('hc', 0)}[{d.get('hc', 0)}]:SC{d.get('sc', 0)}[{d.get('sc', 0)}]:"
            f"HE{d.get('he', 0)}:SE{d.get('se', 0)}] takes:",
            f" {_lock_name(d.get('lock'))}, at: {rec.get('site')}",
            f"{{{d.get('from_state')}}} state was registered at:", f"  {d.get('first_site') or '?'}",
            "", "other info that might help us debug this:", " Possible unsafe locking scenario:", "",
            "       CPU0", "       ----", f"  lock({cls});", "  <Interrupt>", f"    lock({cls});", "",
            " *** DEADLOCK ***", ""]
    return head, body + held_lines(rec), []


def _safe_unsafe(rec):
    d = _d(rec)
    head = "WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected"
    body = [f"the HARDIRQ-safe lock ({d.get('safe')}) is held while taking the HARDIRQ-unsafe lock "
            f"({d.get('unsafe')}): an interrupt taking ({d.get('safe')}) can wait on a CPU that waits "
            "for it", f"found by {_task(rec)} in {rec.get('context')} context at {rec.get('site')}", ""]
    for edge in rec.get("lock_chain") or []:
        body += [f"the dependency ({edge.get('after')}) -> ({edge.get('lock')}) was recorded on CPU "
                 f"{edge.get('cpu', '?')} at:", f"  {edge.get('site') or '?'}", ""]
    return head, body + held_lines(rec), []


def _bad_unlock(rec):
    d = _d(rec)
    head = "WARNING: bad unlock balance detected!"
    body = [f"{_task(rec)} is trying to release lock ({d.get('lock')}) at:", f"{rec.get('site')}",
            "but there are no more locks to release!", "", "other info that might help us debug this:"]
    return head, body + held_lines(rec), []


def _wrong_cpu(rec):
    d = _d(rec)
    head = f"BUG: spinlock wrong CPU on CPU#{rec.get('cpu')}, {rec.get('comm')}"
    body = [f" lock: {d.get('lock')}, .owner_cpu: {d.get('owner_cpu')}, released at {rec.get('site')}"]
    return head, body, []


def _held_at_exit(rec):
    d = _d(rec)
    head = f"WARNING: lock held when returning from {rec.get('context')} context"
    body = [f"{', '.join(d.get('locks') or [])} taken at {rec.get('site')} and never released"]
    return head, body + held_lines(rec), []


def _held_freed(rec):
    d = _d(rec)
    head = "WARNING: held lock freed!"
    body = [f"{_task(rec)} is freeing memory {_hex(d.get('lo'))}-{_hex(d.get('hi'))}, with a lock "
            "still held there!", f" ({d.get('lock')}), at: {d.get('held_site', '?')}"]
    return head, body + held_lines(rec), []


def _percpu(rec):
    kind, d = rec["kind"], _d(rec)
    what, slot = d.get("what"), d.get("slot_cpu")
    if kind == "percpu-foreign-access":
        head = f"BUG: CPU {rec.get('cpu')} accesses CPU {slot}'s per-CPU data outside a remote-access path"
        body = [f"{what} of CPU {slot} touched from CPU {rec.get('cpu')} ({rec.get('context')}) "
                f"at {rec.get('site')}"]
    elif kind == "percpu-irq-race" and d.get("claimed_irq_off"):
        head = "BUG: per-CPU section claims interrupts off but they are on"
        body = [f"section {what} on CPU {rec.get('cpu')}: an interrupt can interleave with its "
                "read-modify-write"]
    elif kind == "percpu-irq-race":
        head = "BUG: per-CPU data modified by an interrupt inside an unprotected section"
        body = [f"{what} of CPU {slot} modified by {rec.get('context')} at {rec.get('site')}",
                f"inside a section of the interrupted context (protection: {d.get('protection')})"]
    elif kind == "percpu-lock-in-fastpath":
        head = "BUG: lock taken on a lock-free fast path"
        body = [f"lock {d.get('lock')} taken at {rec.get('site')} inside the fast path {what}"]
    else:
        head = "BUG: per-CPU counter does not add up"
        body = [f"{what} of CPU {rec.get('cpu')}: the slot holds {d.get('value')} but the updates "
                f"made to it sum to {d.get('total')} ({d.get('total', 0) - d.get('value', 0):+d} lost)",
                f"first updated at {rec.get('site')}"]
    return head, body, []


def _kasan(rec):
    kind, d, o = rec["kind"], _d(rec), _obj(rec)
    bug = d.get("bug") or {"double-free": "double-free", "invalid-free": "invalid-free",
                           "use-after-free": "slab-use-after-free",
                           "out-of-bounds": "slab-out-of-bounds"}[kind]
    func = rec.get("function") or "kfree"
    head = f"BUG: KASAN: {bug} in {func}"
    addr = o.get("address")
    if "size" in d:                                     # a k.read / k.write
        body = [f"{'Write' if d.get('write') else 'Read'} of size {d['size']} at addr {_hex(addr)} "
                f"by task {_task(rec)}"]
    else:
        body = [f"Free of addr {_hex(addr)} by task {_task(rec)}"]
    after = history_lines(rec)
    if o.get("object") is not None:
        state = {"slab-use-after-free": "freed ", "slab-out-of-bounds": "allocated "}.get(bug, "")
        after += describe_object(addr, o, state)
        if d.get("cross_cpu_free") is not None:
            after += ["", f"The first free ran on CPU {d['cross_cpu_free']}, this one on CPU "
                          f"{rec.get('cpu')}: two CPUs freed the object (check the ownership hand-off)."]
        after += memory_state(addr, o)
    elif o.get("cache"):
        after += [f"The buggy address is in a slab of {o['cache']} but not in any object"]
    else:
        after += [f"The buggy address {_hex(addr)} does not belong to any slab object"]
    if d.get("message"):
        after += ["", d["message"]]
    return KASAN_LINE + "\n" + head, body, after + [KASAN_LINE]


_FOUND_WHEN = {
    "allocated-again": "allocated again: the write came after the object was freed",
    "freed": "freed: the write went past the object while it was allocated",
}


def _slub_facts(rec):
    """SLUB_DEBUG's explanation lines of a record's ``details``."""
    d, o = _d(rec), _obj(rec)
    obj = o.get("object", o.get("address"))
    cause = d.get("cause")
    if "fault" in d:
        return [f"{d['fault']:#x}-{d['end'] - 1:#x} @offset={d['fault'] - obj}. First byte "
                f"{d['found']:#x} instead of {d['expected']:#x}",
                f"(found by SLUB_DEBUG's check_object when the object was "
                f"{_FOUND_WHEN.get(d.get('found_when'), d.get('found_when'))})", ""]
    if cause == "handed-out-allocated":
        return [f"Object {_hex(obj)} was handed out while its debug state says it is allocated:",
                "it was on a freelist twice -- a double free that raced past the free checks "
                "(two CPUs, or an interrupt on this CPU), or a per-CPU freelist update lost to "
                "an interrupt between its compare and its swap.", ""]
    if cause in ("freelist-loop", "fp-outside-slab"):
        return [f"Object {_hex(obj)} fp={_hex(d.get('fp'))}: "
                + ("the free pointer points at the object itself (a freelist loop: the object "
                   "was freed twice in a row)" if cause == "freelist-loop" else
                   "the free pointer is not an object of this slab"), ""]
    return []


def _slub(rec):
    d, o = _d(rec), _obj(rec)
    head = f"BUG {o.get('cache')} (Not tainted): {d.get('what')}"
    body = [SLUB_DASH, ""] + _slub_facts(rec)
    after = history_lines(rec)
    if d.get("slab"):
        s = d["slab"]
        after += [f"Slab {_hex(s['address'])} objects={s['objects']} used={s['used']} fp={_hex(s['fp'])}",
                  f"Object {_hex(o.get('object'))} @offset={o.get('object', 0) - s['address']}"]
    return SLUB_LINE + "\n" + head, body, after


def _wrong_cache(rec):
    d, o = _d(rec), _obj(rec)
    head = f"kmem_cache_free: Wrong slab cache. {d.get('cache')} but object is from {d.get('real')}"
    body = [f"WARNING: CPU: {rec.get('cpu')} PID: {rec.get('pid')} at mm/slab.h:cache_from_obj",
            f"object {_hex(o.get('address'))}"]
    return head, body, history_lines(rec)


def _destroy_live(rec):
    d = _d(rec)
    cache = d.get("cache")
    head = f"BUG {cache} (Not tainted): Objects remaining in {cache} on __kmem_cache_shutdown()"
    after = []
    for o in rec.get("objects") or []:
        after.append(f"Object {_hex(o.get('address'))} allocated at {(o.get('alloc') or {}).get('site', '?')}")
    after += [f"{d.get('remaining')} object(s) still allocated",
              f"kmem_cache_destroy {cache}: Slab cache still has objects when called from {rec.get('site')}"]
    return SLUB_LINE + "\n" + head, [SLUB_DASH], after


def _bad_page(rec):
    d, objs = _d(rec), rec.get("objects") or []
    o = objs[0] if objs else {}
    if rec["kind"] == "double-free":
        head = f"BUG: KASAN: double-free in {rec.get('function') or '__free_pages'}"
    else:
        head = f"BUG: Bad page state in process {rec.get('comm')}  pfn:{max(o.get('pfn', 0), 0):05x}"
    body = []
    for p in objs:
        if "refcount" in p:
            body.append(f"page: refcount:{p['refcount']} mapcount:0 mapping:{p.get('mapping', 0):016x} "
                        f"index:0x0 pfn:{p['pfn']:#x} flags: {p.get('flags', 0):#x}")
        else:
            body.append(f"page: pfn:{p.get('pfn', 0):#x}")
    if rec.get("objects_dropped"):
        body.append(f"... and {rec['objects_dropped']} more pages")
    body.append(f"page dumped because: {d.get('reason')}")
    return head, body, []


def _bad_vfree(rec):
    d, o = _d(rec), _obj(rec)
    head = (d.get("message") or f"Trying to vfree() bad address ({_hex(o.get('address'))})").splitlines()[0]
    body = [f"WARNING: CPU: {rec.get('cpu')} PID: {rec.get('pid')} at mm/vmalloc.c:vfree"]
    after = []
    if o.get("cache"):
        after = ["", f"{_hex(o.get('address'))} is an object of the slab cache {o['cache']}: free it "
                     "with kfree() (kvfree() frees both kinds)", ""] + history_lines(rec)
    return head, body, after


def _leak(rec):
    """kmemleak's list: ``unreferenced object ...`` per object, then the count."""
    out = []
    for o in rec.get("objects") or []:
        t = o.get("alloc") or {}
        comm = rec.get("comm") if t.get("cpu", rec.get("cpu")) == rec.get("cpu") else f"mmstress/{t['cpu']}"
        out += [f"unreferenced object {_hex(o.get('address'))} (size {o.get('size')}):",
                f"  comm \"{comm}\", pid {t.get('pid', '?')}, cpu {t.get('cpu', rec.get('cpu'))}, "
                f"{t.get('context', '?')} context, op {t.get('seq', '?')}"]
        if o.get("hex"):
            out += [f"  hex dump (first {len(o['hex']) // 2} bytes):"]
            b = bytes.fromhex(o["hex"])
            out += [f"    {' '.join(f'{x:02x}' for x in b[i:i + 16])}" for i in range(0, len(b), 16)]
        out += ["  backtrace:", f"    {rec.get('site')}"]
    total = len(rec.get("objects") or []) + rec.get("objects_dropped", 0)
    if rec.get("objects_dropped"):
        out.append(f"... and {rec['objects_dropped']} more from the same site")
    tail = [f"kmemleak: {total} new suspected memory leak{'s' if total != 1 else ''} (see "
            "/sys/kernel/debug/kmemleak)"]
    return (out[0] if out else "unreferenced object"), out[1:], tail


def _deadlock(rec):
    head = "BUG: deadlock: every CPU is spinning on a lock"
    body = []
    for c in _d(rec).get("cycle") or []:
        if c.get("lock") is None:
            body.append(f"  CPU {c.get('cpu')} waits at the end-of-run barrier for the other CPUs")
        else:
            held = f"held by CPU {c['owner']}" if c.get("owner") is not None else "holder unknown"
            body.append(f"  CPU {c.get('cpu')} waits for {c['lock']}, {held}")
    return head, body + held_lines(rec), []


def _invariant(rec):
    probs = _d(rec).get("problems") or []
    head = "BUG: allocator state corrupt"
    return head, [f" {p}" for p in probs], []


BODIES = {
    "sleep-in-atomic": _sleep,
    "lock-recursive": _recursive, "lock-circular": _circular,
    "lock-inconsistent": _inconsistent, "lock-safe-unsafe": _safe_unsafe,
    "lock-bad-unlock": _bad_unlock, "lock-wrong-cpu": _wrong_cpu,
    "lock-held-at-exit": _held_at_exit, "lock-held-freed": _held_freed,
    "double-free": _kasan, "invalid-free": _kasan, "use-after-free": _kasan, "out-of-bounds": _kasan,
    "freelist-corrupt": _slub, "wrong-cache": _wrong_cache, "cache-destroy-live": _destroy_live,
    "bad-page": _bad_page, "bad-vfree": _bad_vfree, "leak": _leak, "invariant": _invariant,
    "deadlock": _deadlock,
}
for _k in KINDS.values():
    if _k.family == "gfp":
        BODIES[_k.name] = _gfp
    elif _k.family == "percpu":
        BODIES[_k.name] = _percpu


def _body(rec):
    """(header, facts, trailer) of a record; a record its kind's words cannot render (a
    field missing or of another type) still prints, with its fields as they are."""
    try:
        return _kind_body(rec)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return (f"BUG: {rec.get('kind')} at {rec.get('site')}",
                [f"{k}: {rec.get(k)!r}" for k in ("function", "objects", "details") if rec.get(k)], [])


def _kind_body(rec):
    d = _d(rec)
    if rec.get("text"):                                 # the old emit() API: the checker's text
        return rec["text"].rstrip(), [], []
    kind = rec.get("kind")
    if kind == "gfp-fs-recursion":
        return (_circular if rec.get("lock_chain") else _recursive)(rec)
    if kind in ("use-after-free", "out-of-bounds") and d.get("what"):
        return _slub(rec)                               # SLUB_DEBUG found it, not KASAN
    if kind == "double-free" and d.get("page"):
        return _bad_page(rec)
    fn = BODIES.get(kind)
    if fn is None:
        return f"BUG: {kind} at {rec.get('site')}", [], []
    return fn(rec)


def title(rec):
    """The first line of the splat that is not a ruler (JSON ``title``, JUnit message)."""
    head = _body(rec)[0]
    return printable(next((ln for ln in head.splitlines() if ln.strip(" =-")),
                          head.splitlines()[0] if head else ""))


def render(rec):
    """The whole kernel-style splat of one record; see the module docstring."""
    head, body, after = _body(rec)
    out = [head] + list(body)
    if rec.get("cpu") is not None:
        out.append(f"CPU: {rec.get('cpu')} PID: {rec.get('pid', 0)} Comm: {rec.get('comm') or 'mmstress'} "
                   f"({rec.get('context') or '?'} context, op {rec.get('seq', 0)})")
    frames = rec.get("frames") or ([rec["site"]] if rec.get("site") not in (None, "", "?") else [])
    if frames:
        mark = "IRQ" if rec.get("context") in ("hardirq", "softirq", "tasklet", "nmi") else "TASK"
        out += ["Call Trace:", f" <{mark}>"] + [f" {f}" for f in frames] + [f" </{mark}>"]
    out += [ln for ln in after if ln is not None]
    count = rec.get("count", 1)
    if count > 1:
        seen = rec.get("seen") or []
        per = ", ".join(f"CPU {s.get('cpu')} {s.get('context')}: {s.get('count')}" for s in seen)
        out.append(f"(reported once; seen {count} times{': ' + per if len(seen) > 1 else ''})")
    k = KINDS.get(rec.get("kind"))
    if k is not None:
        out += ["", f"What to do: {k.fix}", f"(mmstress explain {k.name})"]
    return printable("\n".join(out), multiline=True)      # workload messages, names, sites


record.RENDERER = sys.modules[__name__]      # records' title/splat conveniences render here
