"""The model's error tree.

Every error here is a *usage* error: the caller asked the model for something
the kernel would refuse to build or compile.  Failures that the kernel reports
at run time (a failed allocation, a double free) are not exceptions: the
allocator returns None (NULL) and the debug hooks report.

The harness turns these into exit code 2 with the message as the whole output,
so each message names what was wrong and what to write instead.
"""


class ModelError(Exception):
    """Base of every error the model raises on bad input."""


class ConfigError(ModelError):
    """A memory description the model cannot boot.

    Common causes: a page size other than 4096 or 8192; total memory that is
    not a whole number of pages; slab caches asked for on a metadata-only
    arena (slab objects need real page data); an architecture name other than
    ``x86_64`` or ``x86_32``.
    """


class NotBootedWith(ConfigError):
    """An operation that needs a part of the model this node was booted without.

    ``what`` says what is missing, ``option`` is the ``boot()`` keyword that
    adds it ("slab", "page_data") and ``value`` what to pass for it, so a
    caller that boots the model from its own configuration can name its own
    key instead of the ``boot()`` advice of the message.

    Common causes: ``kmalloc``/``kmem_cache_*``/``vmalloc`` on a node booted
    with ``slab=None``; slab caches on a metadata-only node (``page_data=False``).
    """

    def __init__(self, what, option, value, detail=""):
        super().__init__(f"{what}: boot(..., {option}={value!r}){detail}")
        self.what, self.option, self.value = what, option, value


class GfpError(ModelError):
    """A GFP mask the kernel would reject.

    Common causes: two zone modifiers at once (``__GFP_DMA|__GFP_HIGHMEM``),
    ``__GFP_MOVABLE`` together with ``__GFP_DMA32`` and another zone bit
    (the GFP_ZONE_BAD combinations of include/linux/gfp.h), or a flag name
    that does not exist (a typo in a scenario).
    """
