"""GFP flags: include/linux/gfp_types.h and include/linux/gfp.h of Linux 6.12.

A gfp_t is a plain int here, as in C: hot paths test bits with ``&``.

Modern names carry the 6.12 values.  Config-dependent bits (ZEROTAGS,
SKIP_ZERO, SKIP_KASAN, NOLOCKDEP, NO_OBJ_EXT) take the values they have with
every option on.  The classic names of the source notes (Linux 2.6) are
accepted as aliases with their modern meaning:

  __GFP_WAIT   -> __GFP_RECLAIM        renamed in 4.4 (commit 71baba4b92dc); the
                                       2.6 meaning "may sleep" is now both
                                       reclaim bits, so 2.6's GFP_KERNEL
                                       (__GFP_WAIT|__GFP_IO|__GFP_FS) equals
                                       today's GFP_KERNEL.
  __GFP_REPEAT -> __GFP_RETRY_MAYFAIL  renamed in 4.13.
  __GFP_COLD   -> 0                    removed in 4.15 (pcp lists no longer
                                       keep a cold end); accepted, ignored.
  __GFP_NO_GROW                        2.6 slab-internal "do not grow the
                                       cache"; a model-private bit above
                                       __GFP_BITS_MASK, honoured by the slab.
"""

import difflib

from .errors import GfpError

# --- the bits (gfp_types.h) ------------------------------------------------
__GFP_DMA = 0x01
__GFP_HIGHMEM = 0x02
__GFP_DMA32 = 0x04
__GFP_MOVABLE = 0x08
__GFP_RECLAIMABLE = 0x10
__GFP_HIGH = 0x20
__GFP_IO = 0x40
__GFP_FS = 0x80
__GFP_ZERO = 0x100
# 0x200 was ___GFP_ATOMIC until 6.3; unused in 6.12.
__GFP_DIRECT_RECLAIM = 0x400
__GFP_KSWAPD_RECLAIM = 0x800
__GFP_WRITE = 0x1000
__GFP_NOWARN = 0x2000
__GFP_RETRY_MAYFAIL = 0x4000
__GFP_NOFAIL = 0x8000
__GFP_NORETRY = 0x10000
__GFP_MEMALLOC = 0x20000
__GFP_COMP = 0x40000
__GFP_NOMEMALLOC = 0x80000
__GFP_HARDWALL = 0x100000
__GFP_THISNODE = 0x200000
__GFP_ACCOUNT = 0x400000
__GFP_ZEROTAGS = 0x800000
__GFP_SKIP_ZERO = 0x1000000
__GFP_SKIP_KASAN = 0x2000000
__GFP_NOLOCKDEP = 0x4000000
__GFP_NO_OBJ_EXT = 0x8000000
__GFP_BITS_SHIFT = 28
__GFP_BITS_MASK = (1 << __GFP_BITS_SHIFT) - 1

__GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM

# --- classic aliases (see module docstring) --------------------------------
__GFP_WAIT = __GFP_RECLAIM
__GFP_REPEAT = __GFP_RETRY_MAYFAIL
__GFP_COLD = 0
__GFP_NO_GROW = 0x40000000          # model-private, outside __GFP_BITS_MASK

# --- the types ---------------------------------------------------------------
GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM
GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS
GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT
GFP_NOWAIT = __GFP_KSWAPD_RECLAIM          # 6.12; later trees add __GFP_NOWARN
GFP_NOIO = __GFP_RECLAIM
GFP_NOFS = __GFP_RECLAIM | __GFP_IO
GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL
GFP_DMA = __GFP_DMA
GFP_DMA32 = __GFP_DMA32
GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM
GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE
GFP_TRANSHUGE_LIGHT = ((GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC
                        | __GFP_NOWARN) & ~__GFP_RECLAIM)
GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM

# --- masks (gfp.h, mm/internal.h, mm/slab.h) ---------------------------------
GFP_ZONEMASK = __GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE
GFP_MOVABLE_MASK = __GFP_RECLAIMABLE | __GFP_MOVABLE
GFP_SLAB_BUG_MASK = ((__GFP_DMA32 | __GFP_HIGHMEM | (~__GFP_BITS_MASK & 0xFFFFFFFF))
                     & ~__GFP_NO_GROW)
GFP_RECLAIM_MASK = (__GFP_RECLAIM | __GFP_HIGH | __GFP_IO | __GFP_FS
                    | __GFP_NOWARN | __GFP_RETRY_MAYFAIL | __GFP_NOFAIL
                    | __GFP_NORETRY | __GFP_MEMALLOC | __GFP_NOMEMALLOC
                    | __GFP_NOLOCKDEP)

# Zone indices, fixed for every architecture (a zone the arch lacks is empty).
ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_HIGHMEM, ZONE_MOVABLE = range(5)
MAX_NR_ZONES = 5
ZONE_NAMES = ("DMA", "DMA32", "Normal", "HighMem", "Movable")

# GFP_ZONE_BAD of gfp.h: two zone modifiers together, or MOVABLE with two.
GFP_ZONE_BAD = frozenset({0x3, 0x5, 0x6, 0x7, 0xB, 0xD, 0xE, 0xF})

# %pGg order of include/trace/events/mmflags.h (__def_gfpflag_names):
# composite names first, so the longest match wins, then single bits.
_PRINT_ORDER = (
    ("GFP_TRANSHUGE", GFP_TRANSHUGE),
    ("GFP_TRANSHUGE_LIGHT", GFP_TRANSHUGE_LIGHT),
    ("GFP_HIGHUSER_MOVABLE", GFP_HIGHUSER_MOVABLE),
    ("GFP_HIGHUSER", GFP_HIGHUSER),
    ("GFP_USER", GFP_USER),
    ("GFP_KERNEL_ACCOUNT", GFP_KERNEL_ACCOUNT),
    ("GFP_KERNEL", GFP_KERNEL),
    ("GFP_NOFS", GFP_NOFS),
    ("GFP_ATOMIC", GFP_ATOMIC),
    ("GFP_NOIO", GFP_NOIO),
    ("GFP_NOWAIT", GFP_NOWAIT),
    ("GFP_DMA", GFP_DMA),
    ("__GFP_HIGHMEM", __GFP_HIGHMEM),
    ("GFP_DMA32", GFP_DMA32),
    ("__GFP_HIGH", __GFP_HIGH),
    ("__GFP_IO", __GFP_IO),
    ("__GFP_FS", __GFP_FS),
    ("__GFP_NOWARN", __GFP_NOWARN),
    ("__GFP_RETRY_MAYFAIL", __GFP_RETRY_MAYFAIL),
    ("__GFP_NOFAIL", __GFP_NOFAIL),
    ("__GFP_NORETRY", __GFP_NORETRY),
    ("__GFP_COMP", __GFP_COMP),
    ("__GFP_ZERO", __GFP_ZERO),
    ("__GFP_NOMEMALLOC", __GFP_NOMEMALLOC),
    ("__GFP_MEMALLOC", __GFP_MEMALLOC),
    ("__GFP_HARDWALL", __GFP_HARDWALL),
    ("__GFP_THISNODE", __GFP_THISNODE),
    ("__GFP_RECLAIMABLE", __GFP_RECLAIMABLE),
    ("__GFP_MOVABLE", __GFP_MOVABLE),
    ("__GFP_ACCOUNT", __GFP_ACCOUNT),
    ("__GFP_WRITE", __GFP_WRITE),
    ("__GFP_RECLAIM", __GFP_RECLAIM),
    ("__GFP_DIRECT_RECLAIM", __GFP_DIRECT_RECLAIM),
    ("__GFP_KSWAPD_RECLAIM", __GFP_KSWAPD_RECLAIM),
    ("__GFP_ZEROTAGS", __GFP_ZEROTAGS),
    ("__GFP_SKIP_ZERO", __GFP_SKIP_ZERO),
    ("__GFP_SKIP_KASAN", __GFP_SKIP_KASAN),
    ("__GFP_NOLOCKDEP", __GFP_NOLOCKDEP),
    ("__GFP_NO_OBJ_EXT", __GFP_NO_OBJ_EXT),
    ("__GFP_NO_GROW", __GFP_NO_GROW),
)

# Every name a scenario may write, modern and classic.
GFP_NAMES = {name: value for name, value in globals().items()
             if (name.startswith("GFP_") or name.startswith("__GFP_"))
             and isinstance(value, int) and name not in
             ("GFP_ZONEMASK", "GFP_MOVABLE_MASK", "GFP_SLAB_BUG_MASK",
              "GFP_RECLAIM_MASK", "GFP_NAMES", "__GFP_BITS_SHIFT",
              "__GFP_BITS_MASK")}

def format_gfp(gfp):
    """The kernel's ``%pGg``: ``GFP_KERNEL|__GFP_ZERO``; ``none`` for 0."""
    if not gfp:
        return "none"
    parts = []
    for name, mask in _PRINT_ORDER:
        if mask and gfp & mask == mask:
            parts.append(name)
            gfp &= ~mask
    if gfp:
        parts.append(hex(gfp))
    return "|".join(parts)


def parse_gfp(text):
    """``"GFP_KERNEL | __GFP_ZERO"`` (or an int, or ``"0x..."``) -> gfp_t."""
    if isinstance(text, int):
        return text
    gfp = 0
    for word in str(text).split("|"):
        word = word.strip()
        if word in GFP_NAMES:
            gfp |= GFP_NAMES[word]
        elif word.lower().startswith("0x"):
            try:
                gfp |= int(word, 16)
            except ValueError:
                raise GfpError(f"not a GFP flag: {word!r}") from None
        else:
            close = difflib.get_close_matches(word.upper(), GFP_NAMES, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise GfpError(f"unknown GFP flag {word!r}{hint}")
    return gfp


def gfp_zone(gfp, has_highmem=True, has_dma32=True):
    """The highest zone an allocation with this mask may use (gfp.h).

    ``has_highmem``/``has_dma32`` are the OPT_ZONE_* choices of the
    architecture: x86_64 has no HIGHMEM (it means NORMAL), x86_32 has no
    DMA32 (it means NORMAL).  Raises GfpError on GFP_ZONE_BAD, as the
    kernel's VM_BUG_ON does, naming the flags.
    """
    bits = gfp & GFP_ZONEMASK
    if bits in GFP_ZONE_BAD:
        raise GfpError(
            f"impossible GFP zone combination {format_gfp(bits)} (in {format_gfp(gfp)}):"
            " at most one of __GFP_DMA, __GFP_DMA32, __GFP_HIGHMEM may be given"
            " (GFP_ZONE_BAD); __GFP_MOVABLE combines with one of them")
    highmem = ZONE_HIGHMEM if has_highmem else ZONE_NORMAL
    dma32 = ZONE_DMA32 if has_dma32 else ZONE_NORMAL
    if bits & __GFP_DMA:
        return ZONE_DMA
    if bits & __GFP_DMA32:
        return dma32
    if bits & __GFP_HIGHMEM:
        return ZONE_MOVABLE if bits & __GFP_MOVABLE else highmem
    return ZONE_NORMAL


def gfpflags_allow_blocking(gfp):
    """May this allocation sleep (enter direct reclaim)?"""
    return bool(gfp & __GFP_DIRECT_RECLAIM)


def gfp_has_io_fs(gfp):
    return (gfp & (__GFP_IO | __GFP_FS)) == (__GFP_IO | __GFP_FS)


# ``from kernel_model.gfp import *`` (and ``kernel_model``) export every flag, the
# ``__GFP_*`` modifiers too: a star import skips underscore names unless listed.
__all__ = sorted(n for n in dir() if n.startswith(("GFP_", "__GFP_", "ZONE_", "gfp")) or n in (
    "MAX_NR_ZONES", "ZONE_NAMES", "CLASSIC_ALIASES", "format_gfp", "parse_gfp"))
