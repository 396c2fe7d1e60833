"""A __GFP_FS allocation under a filesystem lock that reclaim also takes.

The inode lock is taken by this "filesystem's" shrinker, so under fs_reclaim
(taught to lockdep up front with fs_reclaim_acquire/release, as drivers do);
allocating GFP_KERNEL while holding it can recurse into that shrinker.
"""

from kernel_model.gfp import GFP_KERNEL

_state = {"primed": False}


def shrinker_locking(k):
    k.fs_reclaim_acquire(GFP_KERNEL)        # the shrinker runs inside reclaim ...
    k.mutex_lock("inode_lock")              # ... and takes the inode lock
    k.mutex_unlock("inode_lock")
    k.fs_reclaim_release(GFP_KERNEL)


def process(k):
    if not _state["primed"]:
        shrinker_locking(k)
        _state["primed"] = True
    k.mutex_lock("inode_lock")
    page = k.alloc_pages(GFP_KERNEL, 0)     # BUG: may enter fs reclaim -> inode_lock
    k.mutex_unlock("inode_lock")
    if page is not None:
        k.__free_pages(page, 0)
