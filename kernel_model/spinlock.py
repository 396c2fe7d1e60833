"""Emulated spinlocks: spin on try-acquire of a process-shared lock.

Each spinlock_t is an index into a pool of process-shared locks created at
boot, before the CPUs fork (a POSIX semaphore cannot be shared afterwards), so
locks made later -- a new slab cache's list_lock -- take the next free slot.

Arena sections (one row per lock id)::

    spinlock_owner  u32[MAX_LOCKS]     owner word: 0 unlocked, else (cpu + 1) << 8 | context
                                       (owner_word_of / owner_cpu / owner_context)
    spinlock_stat   u64[MAX_LOCKS * 4] acquired, contended, spins, -
    spinlock_name   u8 [MAX_LOCKS * 32] ASCII name, NUL padded
    spinlock_class  u32[MAX_LOCKS]     lock class: the id of the first lock whose
                                       name matches up to "[" ("&zone->lock[DMA]"
                                       and "&zone->lock[Normal]" are one class,
                                       as lockdep keys a class by its init site)
    spinlock_next   u32[1]             next free lock id (under slot_lock)

The owner word and the counters are written only by the holder, after the
acquire and before the release, so they need no further protection.

A CPU that tries to take a lock it already holds -- process context holding
zone->lock when a hardirq on the same CPU wants it -- would spin forever; the
model reports it through ``debug.hooks.spin_self_deadlock`` (which raises by
default) instead of hanging.  ``spin_lock_irqsave`` and ``spin_lock_bh`` mask
as the kernel does, so with correct code that case cannot arise.
"""

import multiprocessing

from . import context, debug

MAX_LOCKS = 512
NAME_LEN = 32
STAT_ACQUIRED, STAT_CONTENDED, STAT_SPINS = 0, 1, 2
_SPIN_TRIES = 200


def arena_sections(max_locks=MAX_LOCKS):
    return [("spinlock_owner", "I", max_locks), ("spinlock_stat", "Q", max_locks * 4),
            ("spinlock_name", "B", max_locks * NAME_LEN), ("spinlock_class", "I", max_locks),
            ("spinlock_next", "I", 1)]


class LockPool:
    """The pre-fork pool of process-shared locks and the arena rows of each."""

    def __init__(self, arena, max_locks=MAX_LOCKS):
        ctx = multiprocessing.get_context("fork")
        self.max_locks = max_locks
        self.sems = [ctx.Lock() for _ in range(max_locks)]
        self.slot_lock = ctx.Lock()
        self.owner = arena.v["spinlock_owner"]
        self.stat = arena.v["spinlock_stat"]
        self.names = arena.v["spinlock_name"]
        self.next = arena.v["spinlock_next"]
        self.classes = arena.v["spinlock_class"]

    def name_of(self, lock_id):
        raw = bytes(self.names[lock_id * NAME_LEN:(lock_id + 1) * NAME_LEN])
        return raw.rstrip(b"\0").decode()

    def allocate(self, name):
        """A new lock id and its class id (see spinlock_class above)."""
        key = lock_class_name(name)
        with self.slot_lock:
            lock_id = self.next[0]
            if lock_id >= self.max_locks:
                raise RuntimeError(f"out of spinlocks ({self.max_locks}): raise MAX_LOCKS")
            self.next[0] = lock_id + 1
            raw = name.encode()[:NAME_LEN].ljust(NAME_LEN, b"\0")
            self.names[lock_id * NAME_LEN:(lock_id + 1) * NAME_LEN] = raw
            cls = next((i for i in range(lock_id) if lock_class_name(self.name_of(i)) == key), lock_id)
            self.classes[lock_id] = cls
        return lock_id, cls


def lock_class_name(name):
    return name.split("[", 1)[0]


class spinlock_t:
    """A lock: its id in the pool and the pool's objects it needs."""

    __slots__ = ("id", "cls", "name", "sem", "owner", "stat")

    def __init__(self, pool, name):
        self.id, self.cls = pool.allocate(name)
        self.name = name
        self.sem = pool.sems[self.id]
        self.owner = pool.owner
        self.stat = pool.stat

    def __repr__(self):
        return f"<spinlock {self.name}>"

    def owner_word(self):
        return self.owner[self.id]

    def owner_cpu(self):
        """The CPU holding the lock, -1 if unlocked."""
        return owner_cpu(self.owner[self.id])


def spin_lock_init(pool, name):
    return spinlock_t(pool, name)


# The owner word: which CPU holds the lock, in which context (context.CTX_*).
OWNER_CPU_SHIFT = 8
OWNER_CONTEXT_MASK = (1 << OWNER_CPU_SHIFT) - 1


def owner_word_of(cpu_id, ctx):
    """The owner word of CPU ``cpu_id`` holding a lock in context ``ctx``."""
    return (cpu_id + 1) << OWNER_CPU_SHIFT | ctx


def owner_cpu(word):
    """The CPU of an owner word; -1 for an unlocked lock."""
    return (word >> OWNER_CPU_SHIFT) - 1


def owner_context(word):
    return word & OWNER_CONTEXT_MASK


def _owner_word(cpu):
    return owner_word_of(cpu.id, cpu.context())


def do_raw_spin_lock(lock):
    cpu = context.this_cpu
    hooks = debug.hooks
    hooks.lock_acquire(lock, False)
    lid = lock.id
    owner = lock.owner[lid]
    if owner >> OWNER_CPU_SHIFT == cpu.id + 1:      # owner_cpu(owner) == cpu.id, inlined
        hooks.spin_self_deadlock(lock, owner)
        # A hook that chose not to raise: fall through and wait, as the
        # kernel would (the harness's watchdog then reports the hang).
    sem = lock.sem
    contended = False
    if not sem.acquire(False):
        contended = True
        spins = 0
        while True:
            spins += 1
            hooks.yield_point("spin", lock)  # a serialising scheduler runs the holder
            if sem.acquire(False) if spins < _SPIN_TRIES else sem.acquire(True, 0.001):
                break
        lock.stat[lid * 4 + STAT_SPINS] += spins
        lock.stat[lid * 4 + STAT_CONTENDED] += 1
    lock.owner[lid] = _owner_word(cpu)
    lock.stat[lid * 4 + STAT_ACQUIRED] += 1
    hooks.lock_acquired(lock, contended)
    hooks.yield_point("locked", lock)        # a scheduler's step: the lock is ours


def do_raw_spin_trylock(lock):
    hooks = debug.hooks
    if not lock.sem.acquire(False):
        hooks.yield_point("trylocked", lock)
        return False
    lock.owner[lock.id] = _owner_word(context.this_cpu)
    hooks.yield_point("trylocked", lock)
    lock.stat[lock.id * 4 + STAT_ACQUIRED] += 1
    hooks.lock_acquire(lock, True)
    hooks.lock_acquired(lock, False)
    return True


def do_raw_spin_unlock(lock):
    hooks = debug.hooks
    hooks.lock_release(lock)
    if lock.owner[lock.id] == 0:
        return                 # unlock of a free lock: reported by the hook above
    lock.owner[lock.id] = 0
    lock.sem.release()
    hooks.yield_point("unlock", lock)


def spin_lock(lock):
    context.preempt_disable()
    do_raw_spin_lock(lock)


def spin_trylock(lock):
    context.preempt_disable()
    if do_raw_spin_trylock(lock):
        return True
    context.preempt_enable()
    return False


def spin_unlock(lock):
    do_raw_spin_unlock(lock)
    context.preempt_enable()


def spin_lock_irqsave(lock):
    flags = context.local_irq_save()
    context.preempt_disable()
    do_raw_spin_lock(lock)
    return flags


def spin_unlock_irqrestore(lock, flags):
    do_raw_spin_unlock(lock)
    context.local_irq_restore(flags)
    context.preempt_enable()


def spin_lock_irq(lock):
    context.local_irq_disable()
    context.preempt_disable()
    do_raw_spin_lock(lock)


def spin_unlock_irq(lock):
    do_raw_spin_unlock(lock)
    context.local_irq_enable()
    context.preempt_enable()


def spin_lock_bh(lock):
    context.local_bh_disable()
    do_raw_spin_lock(lock)


def spin_unlock_bh(lock):
    do_raw_spin_unlock(lock)
    context.local_bh_enable()


def spin_is_locked(lock):
    return lock.owner[lock.id] != 0


def lock_stats(lock):
    base = lock.id * 4
    return {"acquired": lock.stat[base], "contended": lock.stat[base + 1],
            "spins": lock.stat[base + 2]}
