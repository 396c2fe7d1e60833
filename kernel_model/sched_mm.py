"""Scoped allocation constraints and the fs_reclaim annotation (include/linux/sched/mm.h, mm/page_alloc.c).

``memalloc_nofs_save()`` / ``memalloc_noio_save()`` set PF_MEMALLOC_NOFS /
PF_MEMALLOC_NOIO in ``current->flags``; every allocation then goes through
``current_gfp_context(gfp)``, which strips __GFP_FS (and __GFP_IO for NOIO)
so reclaim cannot recurse into a filesystem or block layer that is holding
locks.  Inside such a scope GFP_KERNEL is correct: that is the point of the
scope API (Documentation/core-api/gfp_mask-from-fs-io.rst).

What the kernel reports is the other mistake -- an allocation that may enter
filesystem reclaim made while holding a lock that reclaim itself takes.
Lockdep sees it through the ``fs_reclaim`` pseudo-lock: ``might_alloc()``
acquires and releases it for every allocation that may reclaim with __GFP_FS
(``fs_reclaim_acquire``), and reclaim holds it while it runs shrinkers
(``__perform_reclaim``).  A lock taken both under fs_reclaim and around such
an allocation closes a cycle: "possible circular locking dependency detected".

A CPU is one process, so ``current`` is this process (an interrupt sees the
flags of the task it interrupted, as in the kernel).  The model calls
``debug.hooks.lock_acquire(FS_RECLAIM_MAP, False)`` / ``lock_release``;
``FS_RECLAIM_MAP`` is a lockdep map, not a spinlock (``cls`` None: the
checker gives it a class of its own).
"""

from . import debug
from .gfp import __GFP_DIRECT_RECLAIM, __GFP_FS, __GFP_IO, __GFP_NOLOCKDEP

PF_MEMALLOC = 0x00000800
PF_MEMALLOC_NOFS = 0x00040000
PF_MEMALLOC_NOIO = 0x00080000

current_flags = 0          # current->flags (the PF_MEMALLOC* bits only)


class lockdep_map:
    """A lock lockdep tracks that is no spinlock (``fs_reclaim``)."""

    __slots__ = ("id", "cls", "name")

    def __init__(self, name):
        self.id, self.cls, self.name = -1, None, name

    def owner_word(self):
        return 0

    def __repr__(self):
        return f"<lockdep_map {self.name}>"


FS_RECLAIM_MAP = lockdep_map("fs_reclaim")


def memalloc_nofs_save():
    global current_flags
    old = current_flags & PF_MEMALLOC_NOFS
    current_flags |= PF_MEMALLOC_NOFS
    return old


def memalloc_nofs_restore(flags):
    global current_flags
    current_flags = (current_flags & ~PF_MEMALLOC_NOFS) | flags


def memalloc_noio_save():
    global current_flags
    old = current_flags & PF_MEMALLOC_NOIO
    current_flags |= PF_MEMALLOC_NOIO
    return old


def memalloc_noio_restore(flags):
    global current_flags
    current_flags = (current_flags & ~PF_MEMALLOC_NOIO) | flags


def current_gfp_context(gfp):
    """The mask an allocation really uses inside NOIO/NOFS scopes."""
    pflags = current_flags
    if pflags & PF_MEMALLOC_NOIO:
        gfp &= ~(__GFP_IO | __GFP_FS)
    elif pflags & PF_MEMALLOC_NOFS:
        gfp &= ~__GFP_FS
    return gfp


def __need_reclaim(gfp):
    if not gfp & __GFP_DIRECT_RECLAIM:
        return False                       # no reclaim without waiting on it
    if current_flags & PF_MEMALLOC:
        return False                       # this task is reclaiming: it won't recurse
    return not gfp & __GFP_NOLOCKDEP


def fs_reclaim_needed(gfp):
    """Would this allocation take the fs_reclaim annotation?"""
    gfp = current_gfp_context(gfp)
    return bool(__need_reclaim(gfp) and gfp & __GFP_FS)


def fs_reclaim_acquire(gfp):
    """Tell lockdep this context may now enter filesystem reclaim (mm/page_alloc.c)."""
    gfp = current_gfp_context(gfp)
    if __need_reclaim(gfp) and gfp & __GFP_FS:
        debug.hooks.lock_acquire(FS_RECLAIM_MAP, False)
        return True
    return False


def fs_reclaim_release(gfp):
    gfp = current_gfp_context(gfp)
    if __need_reclaim(gfp) and gfp & __GFP_FS:
        debug.hooks.lock_release(FS_RECLAIM_MAP)


def might_alloc(gfp):
    """include/linux/sched/mm.h: the fs_reclaim annotation (might_sleep is the caller's)."""
    if fs_reclaim_acquire(gfp):
        debug.hooks.lock_release(FS_RECLAIM_MAP)


def memalloc_noreclaim_save():
    global current_flags
    old = current_flags & PF_MEMALLOC
    current_flags |= PF_MEMALLOC
    return old


def memalloc_noreclaim_restore(flags):
    global current_flags
    current_flags = (current_flags & ~PF_MEMALLOC) | flags
