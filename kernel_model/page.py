"""struct page: one entry per page frame, struct-of-arrays in the arena.

Field table (bytes per page; the kernel's struct page is 64 bytes)::

    section       type  bytes  kernel field / meaning
    page_flags    u32   4      page->flags: PG_* bits below
    page_type     u8    1      page->page_type (6.12 keeps PGTY_* in the top
                               byte of the word that overlaps _mapcount):
                               PGTY_buddy on a free block's head, PGTY_slab
    page_ref      i32   4      page->_refcount; page_count() reads it
    page_zone     u8    1      the zone (the kernel packs it into ->flags)
    page_order    u8    1      buddy order of a free head (kernel: ->private),
                               allocation order of an allocated head
    page_owner    u8    1      CPU that allocated it (page_owner), 0xff none
    page_mapping  u64   8      page->mapping
    page_private  u64   8      page->private
    page_lru_next u32   4      page->lru: free_area / pcp / slab list links,
    page_lru_prev u32   4      pfns, NIL = 0xffffffff
    slab_cache    u16   2      slab->slab_cache (cache id + 1, 0 none)
    slab_freelist u64   8      slab->freelist (object address, 0 = NULL)
    slab_counters u32   4      slab->counters: inuse 16 | objects 15 | frozen 1
                        ----
                        50

``virtual`` is not stored: it is computed (page_address), and is None for
HighMem, as for a page without a permanent kernel mapping.
"""

NIL = 0xFFFFFFFF
NO_OWNER = 0xFF

# include/linux/page-flags.h (6.12 enum pageflags), the bits the model uses.
PG_locked = 1 << 0
PG_referenced = 1 << 2
PG_uptodate = 1 << 3
PG_dirty = 1 << 4
PG_lru = 1 << 5
PG_head = 1 << 6
PG_active = 1 << 8
PG_reserved = 1 << 13
PG_private = 1 << 14
PG_reclaim = 1 << 16
# PAGE_FLAGS_CHECK_AT_FREE (simplified): flags a page must not carry when freed.
PAGE_FLAGS_CHECK_AT_FREE = PG_locked | PG_lru | PG_active | PG_private | PG_reserved | PG_dirty
PAGE_FLAG_NAMES = {PG_locked: "locked", PG_referenced: "referenced", PG_uptodate: "uptodate",
                   PG_dirty: "dirty", PG_lru: "lru", PG_head: "head", PG_active: "active",
                   PG_reserved: "reserved", PG_private: "private", PG_reclaim: "reclaim"}

PGTY_NONE = 0
PGTY_buddy = 0xF0
PGTY_slab = 0xF5
PGTY_table = 0xF2

FIELDS = (("page_flags", "I"), ("page_type", "B"), ("page_ref", "i"), ("page_zone", "B"),
          ("page_order", "B"), ("page_owner", "B"), ("page_mapping", "Q"),
          ("page_private", "Q"), ("page_lru_next", "I"), ("page_lru_prev", "I"),
          ("slab_cache", "H"), ("slab_freelist", "Q"), ("slab_counters", "I"))
_SIZE = {"B": 1, "H": 2, "I": 4, "i": 4, "Q": 8}
BYTES_PER_PAGE = sum(_SIZE[t] for _, t in FIELDS)


def arena_sections(nr_pages):
    return [(name, tc, nr_pages) for name, tc in FIELDS]


class mem_map:
    """The views of every struct page field, bound once per process."""

    def __init__(self, arena, nr_pages):
        v = arena.v
        self.nr_pages = nr_pages
        self.flags = v["page_flags"]
        self.type = v["page_type"]
        self.ref = v["page_ref"]
        self.zone = v["page_zone"]
        self.order = v["page_order"]
        self.owner = v["page_owner"]
        self.mapping = v["page_mapping"]
        self.private = v["page_private"]
        self.next = v["page_lru_next"]
        self.prev = v["page_lru_prev"]
        self.slab_cache = v["slab_cache"]
        self.slab_freelist = v["slab_freelist"]
        self.slab_counters = v["slab_counters"]


class Page:
    """A ``struct page *``: names one page frame; fields read the arena.

    Compare pages with ``==`` (two Page objects for the same frame are equal).
    """

    __slots__ = ("pfn", "_pgdat")

    def __init__(self, pgdat, pfn):
        self._pgdat = pgdat
        self.pfn = pfn

    def __eq__(self, other):
        return isinstance(other, Page) and other.pfn == self.pfn and other._pgdat is self._pgdat

    def __hash__(self):
        return hash(self.pfn)

    def __repr__(self):
        return f"<struct page pfn:{self.pfn:#x}>"

    @property
    def flags(self):
        return self._pgdat.mem_map.flags[self.pfn]

    @property
    def _refcount(self):
        return self._pgdat.mem_map.ref[self.pfn]

    @property
    def order(self):
        return self._pgdat.mem_map.order[self.pfn]

    @property
    def zone(self):
        return self._pgdat.zones[self._pgdat.mem_map.zone[self.pfn]]

    @property
    def mapping(self):
        return self._pgdat.mem_map.mapping[self.pfn]

    @property
    def private(self):
        return self._pgdat.mem_map.private[self.pfn]

    @property
    def owner(self):
        o = self._pgdat.mem_map.owner[self.pfn]
        return None if o == NO_OWNER else o

    @property
    def virtual(self):
        return self._pgdat.pfn_to_virt(self.pfn)


def format_page_flags(flags):
    """``0x40(head)``: page flags as dump_page() prints them (%pGp)."""
    names = [n for bit, n in PAGE_FLAG_NAMES.items() if flags & bit]
    return f"{flags:#x}({'|'.join(names)})"


def page_count(page):
    return page._refcount


def page_to_pfn(page):
    return page.pfn
