"""NUMA locality, a lint (off by default: name it in a scenario's ``checkers``).

``numa-remote-alloc``: an allocation that asked for this CPU's own node by
name -- ``alloc_pages_node(numa_node_id(), ...)``, ``kmalloc_node(...,
numa_node_id())``, ``kmem_cache_alloc_node`` -- and got memory of another
node.  The page allocator fell back along the zonelist because the local
node was at its watermarks (or SLUB had no slab of that node and its new
slab fell back); the code that asked for local memory now runs on remote
memory, every access crossing the interconnect.  Without __GFP_THISNODE the
kernel allows this silently, so the lint is off by default: it is a
performance finding, not a crash.  An allocation naming another node than
the CPU's, or none (NUMA_NO_NODE), is not reported.
"""

from kernel_model import context

from .base import Checker


class NumaChecker(Checker):
    name = "numa"

    def node_alloc(self, what, nid, got_nid, addr):
        if got_nid == nid or self.pgdat is None:
            return
        cpu = context.this_cpu.id
        if self.pgdat.cpu_to_node(cpu) != nid:
            return
        self.violation("numa-remote-alloc", function=what,
                       details={"node": nid, "got_node": got_nid, "address": int(addr)},
                       text=f"WARNING: {what}() asked for node {nid}, the node of CPU {cpu}, "
                            f"and got memory of node {got_nid}\n"
                            f"node {nid} was at its watermarks: the allocation fell back along "
                            "its zonelist")
