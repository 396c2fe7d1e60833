"""Correct twin of gfp_fs_recursion: the allocation under the inode lock runs in a
memalloc_nofs_save() scope, so it cannot enter filesystem reclaim (the kernel's
recommended fix, Documentation/core-api/gfp_mask-from-fs-io.rst).
"""

from kernel_model.gfp import GFP_KERNEL

_state = {"primed": False}


def shrinker_locking(k):
    k.fs_reclaim_acquire(GFP_KERNEL)
    k.mutex_lock("inode_lock")
    k.mutex_unlock("inode_lock")
    k.fs_reclaim_release(GFP_KERNEL)


def process(k):
    if not _state["primed"]:
        shrinker_locking(k)
        _state["primed"] = True
    k.mutex_lock("inode_lock")
    nofs = k.memalloc_nofs_save()
    page = k.alloc_pages(GFP_KERNEL, 0)     # GFP_KERNEL is right here: the scope strips __GFP_FS
    k.memalloc_nofs_restore(nofs)
    k.mutex_unlock("inode_lock")
    if page is not None:
        k.__free_pages(page, 0)
