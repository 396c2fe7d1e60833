"""The binary buddy core of mm/page_alloc.c: split on allocation, merge on free.

A free block of 2**order pages starts at a pfn aligned to 2**order; its head
page has page_type PGTY_buddy and page_order = order and sits on
zone->free_area[order].  Its buddy is the block it was split from:
``__find_buddy_pfn(pfn, order) = pfn ^ (1 << order)``.

Every function here expects zone->lock held (the callers with a leading
underscore less do the locking), as in the kernel.
"""

from . import debug
from . import planted, spinlock
from .page import PGTY_NONE, PGTY_buddy
from .zone import MAX_PAGE_ORDER, NR_PAGE_ORDERS, add_to_free_list, del_page_from_free_list, lockless_access


def __find_buddy_pfn(pfn, order):
    return pfn ^ (1 << order)


def page_is_buddy(zone, mm, buddy_pfn, order):
    """Is buddy_pfn the head of a free block of exactly this order, in this zone?"""
    return (zone.zone_start_pfn <= buddy_pfn < zone.zone_end_pfn
            and mm.type[buddy_pfn] == PGTY_buddy and mm.order[buddy_pfn] == order)


def set_buddy_order(mm, pfn, order):
    mm.order[pfn] = order
    mm.type[pfn] = PGTY_buddy


def __free_one_page(zone, mm, pfn, order):
    """Give a block back, merging with free buddies as far as they go."""
    while order < MAX_PAGE_ORDER:
        buddy = pfn ^ (1 << order)
        lockless_access(zone)                  # reads the buddy's state (zone->lock protects it)
        if not page_is_buddy(zone, mm, buddy, order):
            break
        debug.hooks.yield_point("buddy")       # zone->lock held: nobody else may be here
        del_page_from_free_list(zone, mm, buddy, order)
        mm.type[buddy] = PGTY_NONE
        mm.order[buddy] = 0
        pfn &= buddy
        order += 1
    set_buddy_order(mm, pfn, order)
    add_to_free_list(zone, mm, pfn, order)


def expand(zone, mm, pfn, low, high):
    """Split a block of order ``high`` down to ``low``, freeing the upper halves."""
    size = 1 << high
    while high > low:
        high -= 1
        size >>= 1
        set_buddy_order(mm, pfn + size, high)
        add_to_free_list(zone, mm, pfn + size, high)


def __rmqueue_smallest(zone, mm, order):
    """Take the smallest free block of at least ``order``; returns pfn or None."""
    heads = zone.fa_head
    for current_order in range(order, NR_PAGE_ORDERS):
        pfn = heads[current_order]
        if pfn == 0xFFFFFFFF:
            continue
        del_page_from_free_list(zone, mm, pfn, current_order)
        mm.type[pfn] = PGTY_NONE
        expand(zone, mm, pfn, order, current_order)
        return pfn
    return None


def rmqueue_buddy(zone, mm, order):
    """Allocate straight from the buddy lists under zone->lock."""
    flags = spinlock.spin_lock_irqsave(zone.lock)
    try:
        return __rmqueue_smallest(zone, mm, order)
    finally:
        spinlock.spin_unlock_irqrestore(zone.lock, flags)


def free_one_page(zone, mm, pfn, order):
    if planted.no_zone_lock_in_free:
        __free_one_page(zone, mm, pfn, order)
        return
    flags = spinlock.spin_lock_irqsave(zone.lock)
    try:
        __free_one_page(zone, mm, pfn, order)
    finally:
        spinlock.spin_unlock_irqrestore(zone.lock, flags)
