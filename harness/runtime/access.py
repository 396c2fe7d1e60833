"""Shared memory accesses as scheduling points: which accesses a strategy may switch at.

Races live between memory accesses, so under a schedule (free, random, pct,
replay) every access a workload makes to model memory -- k.read, k.write,
k.memset, k.READ_ONCE/WRITE_ONCE, the atomic_* API, this_cpu_* -- may be a
yield point of kind ``access`` (before a plain access, after a marked one), and a hardirq may be delivered there.  To keep
the cost bounded, only accesses to *shared* data are points:

    page data   a 64-byte line is shared once two different (CPU, context)
                pairs have touched it.  ``access_owner`` (below) holds, per
                line, 0 (untouched), the first toucher's id, or 255 (shared);
                lines are hashed into a fixed table, so a collision only makes
                a line shared early (an extra point, never a missed one).
    per-CPU     a variable of this CPU is shared once two of its contexts
                (process, hardirq, softirq, tasklet) have touched it; the
                table is this process's own (a CPU's slots are its own).

An access to data only one context ever touched cannot race, and needs no
point.  The table evolves with the accesses themselves, so a serialised run
and its replay mark the same lines shared at the same steps.  With no
schedule (``--sched none``) nothing is a point; the table still tags shared
accesses (KCSAN_ACCESS_SHARED) so the data-race checker samples those densely
and private data rarely.

Every access, point or not, goes through ``debug.hooks.check_access`` (the
KCSAN hook) with the point as its ``delay``: the data-race checker
(harness.checkers.kcsan) calls it inside its watch window.  In none mode the
checker samples accesses and spins instead.

Arena section::

    access_owner  u8[OWNER_LINES]   line (data offset >> 6) & (OWNER_LINES - 1):
                                    0 untouched, 1 + (cpu * 4 + context) % 254 owner, 255 shared

Atomic read-modify-writes (k.atomic_inc ...) are one step for every observer,
as an x86 ``lock``-prefixed instruction: under a schedule they are (nothing
else runs between two yield points); under none the harness spinlock
``atomic_ops`` is taken raw (no lockdep, no yield point) with interrupts masked.

KCSAN access types (include/linux/kcsan-checks.h) are defined here: the
workload API tags its accesses, the checker reads the tags.
"""

from kernel_model import debug

KCSAN_ACCESS_WRITE = 0x1
KCSAN_ACCESS_COMPOUND = 0x2         # a read-modify-write
KCSAN_ACCESS_ATOMIC = 0x4           # marked: atomic_*, READ_ONCE/WRITE_ONCE, this_cpu_inc/add
KCSAN_ACCESS_PERCPU = 0x100         # mmstress: a per-CPU slot (mem[off] is its value)
KCSAN_ACCESS_SHARED = 0x200         # mmstress: data two (CPU, context) pairs have touched

OWNER_LINES = 1 << 20
LINE_SHIFT = 6
SHARED = 255
PERCPU_BASE = 0xffffe8ffffc00000    # where the model's per-CPU slots show in reports


def arena_sections():
    return [("access_owner", "B", OWNER_LINES)]


def _yield_access():
    debug.hooks.yield_point("access")


LINE_OBJ = 1 << 48                  # a yield point's object for data line L: LINE_OBJ | L (lock ids are small)


def line_obj(off):
    """The scheduling object of an access at data offset ``off``: its 64-byte line, so
    POS can tell which pending accesses race with the one just executed."""
    return LINE_OBJ | (off >> LINE_SHIFT)


class AccessPoints:
    """One per CPU process: decides which accesses are scheduling points."""

    def __init__(self, node, scheduled, cpu):
        arena = node.arena
        self.scheduled = scheduled
        self.owner = arena.v["access_owner"] if arena.has("access_owner") else None
        self.data = node.data
        self.cpu = cpu
        self.percpu_who = {}             # name -> first context id, or -1 once shared
        self.atomic_lock = None
        self.point_obj = None            # the line of the plain access whose point is pending

    def _point(self):
        debug.hooks.yield_point("access", self.point_obj)

    def _shared(self, chunks, who):
        """Mark the lines of ``chunks`` touched by ``who``; True if any is shared."""
        own = self.owner
        mask = OWNER_LINES - 1
        shared = False
        for lo, hi in chunks:
            for line in range(lo >> LINE_SHIFT, ((hi - 1) >> LINE_SHIFT) + 1):
                i = line & mask
                o = own[i]
                if o == who:
                    continue
                if o == 0:
                    own[i] = who
                    continue
                if o != SHARED:
                    own[i] = SHARED
                shared = True
        return shared

    def memory(self, ctx, addr, size, type, chunks):
        """Before an access to page data (``chunks``: its (lo, hi) data offsets).

        A plain access's point comes before it (the watch window: the access is
        about to happen).  A marked access (atomic_*, READ_ONCE/WRITE_ONCE) is
        checked here but its point comes *after* it (``marked_done``): a marked
        access publishes or observes, and the race it enables is with what the
        same context does next (publish, then initialise).  Returns True if the
        caller must call ``marked_done`` after the access."""
        shared = self.owner is not None and self._shared(chunks, 1 + (self.cpu * 4 + ctx) % 254)
        if shared:
            type |= KCSAN_ACCESS_SHARED
        if type & KCSAN_ACCESS_ATOMIC:
            debug.hooks.check_access(addr, size, type, None, self.data, chunks[0][0])
            return shared and self.scheduled
        point = None
        if shared and self.scheduled:
            self.point_obj = line_obj(chunks[0][0])
            point = self._point
        debug.hooks.check_access(addr, size, type, point, self.data, chunks[0][0])
        return False

    def marked_done(self, off=None):
        debug.hooks.yield_point("access", None if off is None else line_obj(off))

    def percpu(self, ctx, name, slot, vals, type):
        """Before an access to this CPU's per-CPU slot ``slot`` of variable ``name``."""
        delay = None
        if self.scheduled:
            who = self.percpu_who.get(name)
            if who is None:
                self.percpu_who[name] = ctx
            elif who != ctx:
                if who != -1:
                    self.percpu_who[name] = -1
                delay = _yield_access
        debug.hooks.check_access(PERCPU_BASE + slot * 8, 8, type | KCSAN_ACCESS_PERCPU,
                                 delay, vals, slot)

    def barrier(self):
        """smp_mb() and friends: a point (no data is accessed, nothing is checked)."""
        if self.scheduled:
            debug.hooks.yield_point("access")
