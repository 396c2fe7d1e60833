"""Intrusive doubly linked lists through page->lru (include/linux/list.h).

A list is a (head, tail) pair of pfns in two arrays indexed by a list id,
and the links live in the page_lru_next / page_lru_prev sections, so a page
is on at most one list at a time, as with ``struct list_head lru``.  NIL
(0xffffffff) ends a list; a deleted page gets NIL links (LIST_POISON).
Callers hold whatever lock protects the list.
"""

from .page import NIL


def list_add(nxt, prv, heads, tails, lid, pfn):
    """Insert at the head (hot end)."""
    h = heads[lid]
    nxt[pfn] = h
    prv[pfn] = NIL
    if h == NIL:
        tails[lid] = pfn
    else:
        prv[h] = pfn
    heads[lid] = pfn


def list_add_tail(nxt, prv, heads, tails, lid, pfn):
    t = tails[lid]
    prv[pfn] = t
    nxt[pfn] = NIL
    if t == NIL:
        heads[lid] = pfn
    else:
        nxt[t] = pfn
    tails[lid] = pfn


def list_del(nxt, prv, heads, tails, lid, pfn):
    n = nxt[pfn]
    p = prv[pfn]
    if p == NIL:
        heads[lid] = n
    else:
        nxt[p] = n
    if n == NIL:
        tails[lid] = p
    else:
        prv[n] = p
    nxt[pfn] = NIL
    prv[pfn] = NIL


def list_walk(nxt, heads, lid, limit=None):
    """The pfns on a list, head first (for checks and /proc; bounded)."""
    out = []
    pfn = heads[lid]
    while pfn != NIL:
        out.append(pfn)
        if limit is not None and len(out) > limit:
            raise RuntimeError("list longer than its count: cycle or corruption")
        pfn = nxt[pfn]
    return out
