"""An executable model of the Linux memory manager over one shared-memory arena.

Pinned to Linux 6.12 LTS for the page allocator and SLUB; also speaks the
classic names of the 2.6-era source notes (``__GFP_WAIT``, the three-list
SLAB, 32-bit ZONE_HIGHMEM).  The model knows nothing of processes, schedulers
or files: it calls the hooks of ``kernel_model.debug`` where the kernel runs
its debug checks, and the harness installs checkers there.

    import kernel_model as km
    with km.boot(total="64M", page_data=True) as node:
        page = km.alloc_pages(km.GFP_KERNEL, 2)
        addr = km.page_address(page)
        km.__free_pages(page, 2)
        print(km.procfs.buddyinfo(node))
"""

LINUX_VERSION = "6.12"

from . import context, debug, gfp, procfs, spinlock  # noqa: E402
from .errors import ConfigError, GfpError, ModelError, NotBootedWith  # noqa: E402
from .gfp import *  # noqa: E402,F401,F403  (the flag names are the API)
from .gfp import format_gfp, gfp_zone, gfpflags_allow_blocking, parse_gfp  # noqa: E402
from .layout import MemoryLayout, parse_size  # noqa: E402
from .page import Page, page_count  # noqa: E402
from .page_api import (__free_page, __free_pages, __get_free_page, __get_free_pages,  # noqa: E402
                       alloc_page, alloc_pages, alloc_pages_node, free_page, free_pages,
                       get_zeroed_page, numa_node_id, page_address, page_to_nid, virt_to_page)
from .pgdat import current  # noqa: E402
from .mm_init import boot  # noqa: E402
from . import invariants  # noqa: E402
from .reclaim import register_shrinker, unregister_shrinker  # noqa: E402
from . import slab_common, slab_debug, slab_h, slabinfo  # noqa: E402  (kmalloc, vmalloc: the names are the functions)
from .kmalloc import (ZERO_SIZE_PTR, kcalloc, kfree, kfree_sensitive, kmalloc,  # noqa: E402
                      kmalloc_node, krealloc, ksize, kzalloc, kzfree)
from .slab_common import (SLAB_CACHE_DMA, SLAB_CACHE_DMA32, SLAB_CONSISTENCY_CHECKS,  # noqa: E402
                          SLAB_HWCACHE_ALIGN, SLAB_PANIC, SLAB_POISON, SLAB_RECLAIM_ACCOUNT,
                          SLAB_RED_ZONE, SLAB_STORE_USER, SLAB_TYPESAFE_BY_RCU, kmem_cache,
                          kmem_cache_alloc, kmem_cache_alloc_node, kmem_cache_create,
                          kmem_cache_destroy, kmem_cache_free, kmem_cache_shrink, kmem_cache_zalloc, object_info)
from .vmalloc import (is_vmalloc_addr, vfree, vmalloc, vmalloc_to_page, vmalloc_to_pfn,  # noqa: E402
                      vzalloc)
