"""Process context and the hardirq both free a shared per-CPU pointer without
masking interrupts: a hardirq that lands inside process context's kfree()
frees the same object.  Most races are caught by the object's debug state
(double-free); when the interrupt's free lands between the debug check and
do_slab_free, only SLUB's set_freepointer check (the object is already the
head of the per-CPU freelist) stops the second free from linking the object
to itself.  The planted-bug scenario slub_skip_double_free removes that
check; then the freelist loops and the next allocations hand the object out
again (freelist-corrupt)."""

from kernel_model.gfp import GFP_ATOMIC

shared = [None]                           # per CPU: every CPU is its own process


def process(k):
    obj = k.kmalloc(64, GFP_ATOMIC)
    if obj is None:
        return
    shared[0] = obj
    q = shared[0]
    if q is not None:
        k.kfree(q)                        # BUG: no local_irq_save: the hardirq frees q too
        shared[0] = None


def hardirq(k):
    q = shared[0]
    if q is not None:
        shared[0] = None
        k.kfree(q)
