"""The fixed vocabulary of violation kinds, and what ``mmstress explain`` says.

Each kind: the kernel's report header, what it means, why the kernel forbids
it, and how to fix it -- in the words of the source notes where they have
them ("what to use when": GFP_ATOMIC in interrupt handlers, softirqs and
tasklets; GFP_KERNEL in process context that may sleep; allocate before
taking the lock).  JSON reports and tests use the kind names; they never
change meaning.  A kind with a workload site is one bug per site: the record
key is kind + normalised site (``record.py``); the report's words, built
from the record's fields, are ``harness/outputs/text.py``'s.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    family: str
    header: str
    meaning: str
    why: str
    fix: str


_K = [
    # --- GFP and context -------------------------------------------------------
    Kind("sleep-in-atomic", "context", "BUG: sleeping function called from invalid context",
         "An allocation that may sleep (GFP_KERNEL, GFP_NOIO, GFP_NOFS, GFP_USER, vmalloc, a "
         "__GFP_NOFAIL retry) was made in atomic context: in a hardirq, softirq or tasklet, with "
         "a spinlock held, or with preemption, bottom halves or interrupts disabled.",
         "Direct reclaim may block (I/O, waiting on locks) and schedule(); a CPU in atomic "
         "context cannot schedule, so the kernel would deadlock or corrupt per-CPU state.",
         "In interrupt handlers, softirqs and tasklets use GFP_ATOMIC (or GFP_NOWAIT if the "
         "caller copes with failure). With a spinlock held, either allocate before taking the "
         "lock, or use GFP_ATOMIC. Process context that can sleep uses GFP_KERNEL. (2.6 code "
         "says __GFP_WAIT: it is __GFP_DIRECT_RECLAIM since 4.4, and is what makes a mask sleep; "
         "__GFP_REPEAT is __GFP_RETRY_MAYFAIL, __GFP_COLD is gone and ignored.)"),
    Kind("gfp-zone-bad", "gfp", "kernel BUG at include/linux/gfp.h (GFP_ZONE_BAD)",
         "A GFP mask named two zone modifiers (__GFP_DMA with __GFP_HIGHMEM or __GFP_DMA32, ...).",
         "gfp_zone() maps the low four bits to one zone; these combinations have no meaning.",
         "Give at most one of __GFP_DMA, __GFP_DMA32, __GFP_HIGHMEM (optionally with __GFP_MOVABLE)."),
    Kind("gfp-slab-bug", "gfp", "Unexpected gfp: ... Fix your code!",
         "__GFP_HIGHMEM or __GFP_DMA32 (or a bit outside __GFP_BITS_MASK) was passed to the slab "
         "allocator (kmalloc, kmem_cache_alloc): GFP_SLAB_BUG_MASK.",
         "Slab objects must have a permanent kernel address; highmem pages have none, and "
         "kmalloc(GFP_DMA32) does not return DMA32 memory. The kernel strips the flags and warns.",
         "Drop __GFP_HIGHMEM/__GFP_DMA32; for DMA32 memory use the page allocator or a dedicated "
         "cache created with SLAB_CACHE_DMA32."),
    Kind("gfp-highmem-address", "gfp", "WARNING: __get_free_pages with __GFP_HIGHMEM",
         "__get_free_pages()/get_zeroed_page() was asked for HighMem.",
         "These return a kernel address; HighMem pages have no permanent mapping.",
         "Use alloc_pages() and kmap_local_page(), or drop __GFP_HIGHMEM."),
    Kind("gfp-nofail-atomic", "gfp", "WARNING: __GFP_NOFAIL without __GFP_DIRECT_RECLAIM",
         "__GFP_NOFAIL was combined with a mask that cannot reclaim (GFP_ATOMIC, GFP_NOWAIT).",
         "The allocator cannot promise success without being able to reclaim.",
         "Handle failure, or allocate with GFP_KERNEL|__GFP_NOFAIL in process context."),
    Kind("gfp-nofail-costly", "gfp", "WARNING: __GFP_NOFAIL at costly order",
         "__GFP_NOFAIL above PAGE_ALLOC_COSTLY_ORDER (3).",
         "Large contiguous blocks may never become available; the kernel warns.",
         "Use kvmalloc()/vmalloc() or smaller allocations."),
    Kind("gfp-dma-zone", "gfp", "GFP_DMA allocation outside ZONE_DMA",
         "A GFP_DMA allocation returned memory above 16 MiB.",
         "ISA-style devices can only address the first 16 MiB.",
         "This is a model bug if it ever fires: report it."),
    Kind("gfp-fs-recursion", "gfp",
         "WARNING: possible circular locking dependency detected (... -> fs_reclaim)",
         "An allocation that may enter filesystem reclaim (__GFP_FS with __GFP_DIRECT_RECLAIM: "
         "GFP_KERNEL, GFP_USER) was made while holding a lock that reclaim itself takes (a "
         "shrinker's or writeback's lock), or from inside reclaim. Lockdep sees it through the "
         "fs_reclaim pseudo-lock that every such allocation acquires (might_alloc) and that "
         "reclaim holds; inside memalloc_nofs_save()/memalloc_noio_save() scopes "
         "current_gfp_context() strips __GFP_FS, so GFP_KERNEL there is correct.",
         "Reclaim would re-enter the filesystem (or block layer) and wait for the lock this "
         "context holds: a deadlock under memory pressure only, which is why it hides in testing.",
         "Mark the region that holds the lock with memalloc_nofs_save()/memalloc_nofs_restore() "
         "(memalloc_noio_* for the block layer) and keep GFP_KERNEL inside; or use GFP_NOFS at "
         "that call; or allocate before taking the lock."),
    # --- frees and memory --------------------------------------------------------
    Kind("double-free", "memory", "BUG: KASAN: double-free",
         "An object (or page) was freed twice.",
         "The second free puts the object on a freelist twice: two later allocations get the "
         "same memory and corrupt each other.",
         "Free each object exactly once; set the pointer to NULL after kfree(); check the "
         "ownership hand-off between CPUs."),
    Kind("invalid-free", "memory", "BUG: KASAN: invalid-free",
         "kfree()/kmem_cache_free() got an address that is not the start of a live "
         "allocation: inside an object (SLUB: Invalid object pointer) or outside any slab "
         "(outside of slab). A page freed with the wrong order is bad-page.",
         "The allocator would link a bogus pointer into its freelist.",
         "Free exactly the pointer the allocator returned, with the order it was allocated with."),
    Kind("wrong-cache", "memory", "kmem_cache_free: Wrong slab cache",
         "kmem_cache_free(A, obj) with an object of cache B.",
         "The object would join the wrong cache's freelist, with the wrong size.",
         "Free into the cache the object came from (or use kfree for kmalloc memory)."),
    Kind("use-after-free", "memory", "BUG: KASAN: slab-use-after-free",
         "Memory was read or written after it was freed: KASAN reports the k.read/k.write at "
         "once; a write is also found later by SLUB_DEBUG as Poison overwritten when the object "
         "is allocated again. Pages freed with free_pages/__free_pages are poisoned until they "
         "are allocated again (BUG: KASAN: use-after-free), a vfree()d area until its address "
         "range is reused (BUG: KASAN: vmalloc-out-of-bounds, the access also page-faults).",
         "The memory may already belong to someone else.",
         "Do not touch an object after kfree(); hand ownership off explicitly."),
    Kind("out-of-bounds", "memory", "BUG: KASAN: slab-out-of-bounds",
         "A read or write past the end (or before the start) of an object: KASAN reports the "
         "k.read/k.write at once; a write into the red zone is also found by SLUB_DEBUG when the "
         "object is freed (Right Redzone / kmalloc Redzone overwritten). For kmalloc the end is "
         "the size asked for, not the size class (ksize() only reports the size class since 6.2: "
         "grow the object with krealloc() to use it). Outside the slab: bytes of a large kmalloc "
         "past its size (generic KASAN still says slab-out-of-bounds), vmalloc bytes past the "
         "size asked for or in the guard page (BUG: KASAN: vmalloc-out-of-bounds; the guard "
         "page also faults).",
         "It corrupts the neighbouring object or the allocator's metadata.",
         "Allocate the size you use (krealloc() to grow); fix the length computation."),
    Kind("freelist-corrupt", "memory", "Freechain corrupt / Freepointer corrupt / Wrong object count",
         "A slab's freelist points outside the slab, loops (an object whose free pointer is "
         "itself), or hands out an object that is already allocated.",
         "The next allocation would hand out a wild pointer.",
         "Usually caused by a use-after-free write or a double free; look at the earlier reports."),
    Kind("bad-page", "memory", "BUG: Bad page state in process",
         "A page was freed with a nonzero _refcount, non-NULL mapping or set flags, with an "
         "order other than the one it was allocated with, or at an address that is not a page.",
         "A page in use elsewhere would be handed out again.",
         "Pair every get_page with a put_page, clear page->mapping before freeing, free once, "
         "and pass free_pages()/__free_pages() the order you allocated with."),
    Kind("bad-vfree", "memory", "Trying to vfree() bad address",
         "vfree() of an address that vmalloc() did not return (or already freed).",
         "There is no vm area to unmap.",
         "vfree exactly what vmalloc returned; kmalloc memory goes to kfree (or use kvfree)."),
    Kind("leak", "memory", "unreferenced object (kmemleak)",
         "An object was still allocated when every CPU had finished its teardown and nothing "
         "referred to it: no mailbox entry, per-CPU variable or workload state (module globals, "
         "k attributes, held lists), and no other referenced object's memory (kmemleak's "
         "conservative scan). One list per allocation site; each object names its CPU.",
         "Memory is lost until reboot.",
         "Free it on every path, including error paths and teardown, before dropping the last "
         "reference to it."),
    Kind("cache-destroy-live", "memory", "Objects remaining in cache on __kmem_cache_shutdown()",
         "kmem_cache_destroy() on a cache that still has allocated objects.",
         "The slabs cannot be freed; the objects become dangling.",
         "Free every object of the cache before destroying it."),
    # --- locks ---------------------------------------------------------------------
    Kind("lock-recursive", "locks", "WARNING: possible recursive locking detected",
         "A CPU took a lock it already holds (AA): e.g. process context holds it and a hardirq "
         "on the same CPU takes it.",
         "A spinlock does not nest: the CPU spins forever.",
         "Use spin_lock_irqsave() where interrupts also take the lock; never re-take a held lock."),
    Kind("lock-circular", "locks", "WARNING: possible circular locking dependency detected",
         "Two locks were taken in both orders (A then B on one path, B then A on another).",
         "Two CPUs taking them in opposite orders deadlock (AB-BA).",
         "Define one lock order and follow it everywhere (document it, as mm/slub.c does)."),
    Kind("lock-inconsistent", "locks", "WARNING: inconsistent lock state",
         "A lock is taken in interrupt context and also elsewhere with that interrupt enabled "
         "({HARDIRQ-ON-W} -> {IN-HARDIRQ-W}, or the SOFTIRQ variants).",
         "The interrupt can arrive while the holder on the same CPU has the lock: AA deadlock.",
         "Take it with spin_lock_irqsave() (hardirq users) or spin_lock_bh() (softirq users) "
         "outside the interrupt."),
    Kind("lock-safe-unsafe", "locks", "WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected",
         "An irq-safe lock (taken in hardirq) was held while taking an irq-unsafe one (taken "
         "elsewhere with interrupts enabled).",
         "Through the unsafe lock, an interrupt can end up waiting on a CPU that waits on it.",
         "Make the inner lock irq-safe too (irqsave everywhere) or do not nest them."),
    Kind("lock-bad-unlock", "locks", "WARNING: bad unlock balance detected!",
         "A lock was released that this CPU and context does not hold.",
         "It breaks the mutual exclusion of whoever holds it.",
         "Pair every unlock with a lock on the same path."),
    Kind("lock-wrong-cpu", "locks", "BUG: spinlock wrong CPU",
         "A lock was released on a CPU other than the one that took it.",
         "Spinlocks are held by a CPU with preemption off; the owner's state is now wrong.",
         "Release a spinlock in the same context that took it."),
    Kind("lock-held-at-exit", "locks", "WARNING: lock held when returning from context",
         "A hardirq, softirq, tasklet or process iteration returned with a lock still held.",
         "Nobody will release it; the next taker spins forever.",
         "Release every lock before returning (check early-return and error paths)."),
    Kind("lock-held-freed", "locks", "WARNING: held lock freed!",
         "Memory containing a held lock was freed.",
         "The lock's owner still uses it; the memory may be reused.",
         "Release the lock before freeing the object that contains it."),
    Kind("deadlock", "locks", "BUG: deadlock: CPUs spin on each other's locks",
         "CPUs are spinning on locks in a cycle: each waits for a lock another one of them "
         "holds (found from the lock owner words in every mode, or by a serialising scheduler "
         "when every CPU left spins). Under a schedule, CPUs that busy-wait in cpu_relax() for "
         "a flag only another of them would set (or for a CPU that has finished) are the same "
         "report. It shows each CPU's held lock, where it took it and where it waits, ending "
         "in *** DEADLOCK ***.",
         "Spinlocks and busy-waits never time out: the machine hangs (the soft-lockup "
         "watchdog would fire).",
         "Break the cycle: one lock order everywhere (see lock-circular), irqsave where an "
         "interrupt takes the lock, and set the flag a busy-wait waits for before waiting "
         "yourself."),
    # --- per-CPU paths ----------------------------------------------------------------
    Kind("percpu-lock-in-fastpath", "percpu", "BUG: lock taken on a lock-free fast path",
         "A spinlock was taken inside a per-CPU fast-path section (SLUB's slab_alloc_node, "
         "do_slab_free, or a workload's k.percpu_fastpath()).",
         "The fast path is lock-free by design; a lock there serialises all CPUs.",
         "Keep the fast path to this_cpu operations and a cmpxchg that retries; take locks "
         "only on the slow path. In the model's own fast paths this is a model bug: report it."),
    Kind("percpu-foreign-access", "percpu", "BUG: CPU n accesses CPU m's per-CPU data outside a remote-access path",
         "A CPU touched another CPU's per-CPU slot outside a sanctioned remote path (the "
         "kernel's CONFIG_DEBUG_PREEMPT catches the usual cause, \"BUG: using smp_processor_id() "
         "in preemptible code\": a task that read its CPU number and migrated).",
         "Per-CPU data is only consistent when one CPU touches it (with irqs/preemption off).",
         "Use this_cpu_*() on your own slot, or per_cpu() only with the owner quiesced."),
    Kind("percpu-irq-race", "percpu", "BUG: per-CPU data modified by an interrupt inside an unprotected section",
         "An interrupt entered a per-CPU section that the interrupted context had not protected "
         "(no irq-off, no tid/cmpxchg transaction) and used the same per-CPU data.",
         "The interrupted read-modify-write loses the interrupt's update.",
         "Disable interrupts around the section (local_irq_save) or use this_cpu_cmpxchg with a tid."),
    Kind("percpu-counter-mismatch", "percpu", "BUG: per-CPU counter does not add up",
         "At the end of the run a per-CPU counter's value differs from the sum of the updates "
         "made to it (this_cpu_add/inc, put_cpu_var): some were lost.",
         "Updates were lost to a race.",
         "Find the unprotected read-modify-write of the counter."),
    # --- data races (KCSAN) ----------------------------------------------------------------
    Kind("data-race", "races", "BUG: KCSAN: data-race in A / B",
         "Two contexts accessed the same bytes at the same time, at least one of them writing, "
         "and at least one access was plain (k.read/k.write/k.memset, this_cpu_read/"
         "this_cpu_write), not marked (atomic_*, READ_ONCE/WRITE_ONCE, this_cpu_inc/add). "
         "The report names both accesses (type, address, size, CPU, task or interrupt, the "
         "workload frames) and the value change the watcher saw. 'race at unknown origin' "
         "means the value changed under a watched access but the writer was not seen. "
         "Typical shapes: a refcount get/put written as read-then-write; check-then-act on a "
         "shared flag; a pointer published before the object it points to is initialised; "
         "n = this_cpu_read(x); ...; this_cpu_write(x, n - 1) while a hardirq does "
         "this_cpu_inc(x); a shared counter updated without the lock that protects it.",
         "A plain access may be torn, fused, reordered or re-read by the compiler and the CPU; "
         "a read-modify-write of shared data made of two plain accesses loses every update "
         "that lands between them (a refcount that drops to zero early is a use-after-free). "
         "KCSAN (kernel/kcsan/core.c) finds such races by setting a watchpoint on a sampled "
         "access and delaying: whoever touches the bytes meanwhile raced. Here every plain "
         "access to shared data is watched in --sched random/pct/replay/free (the check is "
         "exact for the schedule) and one in 64 with a 40 us spin in --sched none.",
         "Protect the data with the lock that owns it (spin_lock around every read-modify-write), "
         "or make each access a marked one of the right strength: atomic_inc / "
         "atomic_dec_and_test for a refcount, atomic_cmpxchg (or test_and_set_bit) for "
         "check-then-act, initialise then publish with WRITE_ONCE after the writes (the reader "
         "uses READ_ONCE), this_cpu_inc/this_cpu_dec or local_irq_save around a per-CPU "
         "read-modify-write that a hardirq also updates, and wait for lockless readers "
         "(a refcount or RCU grace period) before freeing what they can still reach."),
    Kind("invariant", "invariants", "BUG: allocator state corrupt",
         "A whole-model consistency check failed (buddy lists, zone counters, pcp counts, slabs).",
         "The allocator's own data structures no longer agree: memory will be lost or handed "
         "out twice.",
         "Look at the first report before it; a planted model bug or a race in the model."),
    # --- the run itself ------------------------------------------------------------------
    Kind("workload-error", "harness", "Oops: exception in workload",
         "A workload function raised an exception.",
         "Kernel code that oopses kills the context it runs in.",
         "Fix the workload; the traceback shows where."),
    Kind("soft-lockup", "harness", "watchdog: BUG: soft lockup",
         "A CPU made no progress (no loop iteration, no cond_resched) for longer than the "
         "watchdog threshold while it had the host to itself (time starved by other processes "
         "does not count).",
         "A spinning or deadlocked CPU stops the whole machine.",
         "Look at what the CPU was doing and the frame it was stuck in (shown); usually an "
         "endless loop or a lock nobody releases."),
    Kind("cpu-exited", "harness", "CPU exited without being asked",
         "A CPU process exited (any status: os._exit(), a C extension calling exit()) before "
         "the machine stopped the run.",
         "Kernel code never leaves its CPU; whatever it was doing is cut off half-way.",
         "Find the exit in the workload (what the CPU was doing is shown); raise instead."),
    # --- NUMA locality (a lint) --------------------------------------------------------
    Kind("numa-remote-alloc", "numa", "WARNING: node-local allocation got remote memory",
         "An allocation named this CPU's own node (alloc_pages_node, kmalloc_node, "
         "kmem_cache_alloc_node with numa_node_id()) and got memory of another node: the local "
         "node was at its watermarks and the allocator fell back along the zonelist.",
         "Code that asks for local memory does so for speed; on remote memory every access "
         "crosses the interconnect, and a later free goes to the other node's lists.",
         "Add __GFP_THISNODE and handle NULL (fall back deliberately, or keep less memory "
         "held on the node), or ask with NUMA_NO_NODE if any node will do."),
]

KINDS = {k.name: k for k in _K}


def explain(name):
    """The text of ``mmstress explain NAME``; raises KeyError for unknown kinds."""
    k = KINDS[name]
    return (f"{k.name}  ({k.family})\n"
            f"  kernel report: {k.header}\n\n"
            f"What it means:\n  {k.meaning}\n\n"
            f"Why the kernel forbids it:\n  {k.why}\n\n"
            f"How to fix it:\n  {k.fix}\n")
