"""The NUMA topology: which page frames and CPUs each node has, and node_distance().

    NumaTopology(nr_pages, page_size, nr_cpus, nodes=1, cpus_per_node=None, distance=None)
      nodes          a count (the memory split evenly, each node a whole
                     number of MAX_PAGE_ORDER blocks, the last takes the rest)
                     or a list of node sizes in bytes that add up to the total
      cpus_per_node  a list of CPU counts per node (adding up to nr_cpus);
                     default an even split, cpu c on node c * nodes // nr_cpus,
                     so a node may have memory and no CPU (as a memory-only node)
      distance       nodes x nodes matrix, node_distance(from, to); default
                     LOCAL_DISTANCE (10) on the diagonal, REMOTE_DISTANCE (20)
                     elsewhere (include/linux/topology.h).  Checked as
                     numa_set_distance (arch/x86/mm/numa.c) checks the SLIT:
                     local distance must be 10, remote ones above 10, at most 255.

    node_order(nid)  build_zonelists' node order for node ``nid`` (Linux 6.12
                     find_next_best_node: the local node first, then the
                     nearest, nodes below ``nid`` penalised by one, nodes with
                     CPUs by PENALTY_FOR_NODE_WITH_CPUS, ties broken by
                     node_load, which build_all_zonelists carries from one
                     node's list to the next).

With ``nodes = 1`` this is the UMA machine the model always was: node 0 holds
every page frame and every CPU.
"""

from .errors import ConfigError
from .zone import MAX_PAGE_ORDER

MAX_NUMNODES = 8                       # CONFIG_NODES_SHIFT=3
LOCAL_DISTANCE = 10
REMOTE_DISTANCE = 20
PENALTY_FOR_NODE_WITH_CPUS = 1


class NumaTopology:
    def __init__(self, nr_pages, page_size, nr_cpus, nodes=1, cpus_per_node=None, distance=None):
        self.node_spans = _node_spans(nr_pages, page_size, nodes)
        self.nr_nodes = n = len(self.node_spans)
        self.cpu_to_node = _cpu_map(nr_cpus, n, cpus_per_node)
        self.distance = _distance(n, distance)

    def node_distance(self, a, b):
        return self.distance[a][b]

    def cpumask_of_node(self, nid):
        return [c for c, n in enumerate(self.cpu_to_node) if n == nid]

    def pfn_to_nid(self, pfn):
        for nid, (start, size) in enumerate(self.node_spans):
            if start <= pfn < start + size:
                return nid
        raise ValueError(f"pfn {pfn:#x} is in no node")

    def node_orders(self):
        """build_all_zonelists: every node's fallback order, node_load carried across."""
        node_load = [0] * self.nr_nodes
        return [self._build_order(nid, node_load) for nid in range(self.nr_nodes)]

    def _build_order(self, local, node_load):
        used = set()
        order = []
        prev = local
        while True:
            node = self._find_next_best_node(local, used, node_load)
            if node < 0:
                return order
            if self.node_distance(local, node) != self.node_distance(local, prev):
                node_load[node] += 1
            order.append(node)
            prev = node

    def _find_next_best_node(self, node, used, node_load):
        if node not in used:
            used.add(node)
            return node
        best, min_val = -1, None
        max_node_load = self.nr_nodes              # nr_online_nodes
        for n in range(self.nr_nodes):
            if n in used:
                continue
            val = self.node_distance(node, n)
            val += n < node
            if self.cpumask_of_node(n):
                val += PENALTY_FOR_NODE_WITH_CPUS
            val *= max_node_load * MAX_NUMNODES
            val += node_load[n]
            if min_val is None or val < min_val:
                min_val, best = val, n
        if best >= 0:
            used.add(best)
        return best


def _node_spans(nr_pages, page_size, nodes):
    block = 1 << MAX_PAGE_ORDER
    if isinstance(nodes, bool) or not isinstance(nodes, (int, list, tuple)):
        raise ConfigError(f"nodes must be a count or a list of node sizes, not {nodes!r}")
    if isinstance(nodes, int):
        if not 1 <= nodes <= MAX_NUMNODES:
            raise ConfigError(f"nodes = {nodes}: must be between 1 and {MAX_NUMNODES}")
        each = nr_pages // nodes // block * block
        if nodes > 1 and not each:
            raise ConfigError(f"nodes = {nodes}: {nr_pages} pages give no node a whole "
                              f"block of {block} pages; give more memory or fewer nodes")
        sizes = [each] * (nodes - 1) + [nr_pages - each * (nodes - 1)]
    else:
        if not 1 <= len(nodes) <= MAX_NUMNODES:
            raise ConfigError(f"nodes: {len(nodes)} node sizes; between 1 and {MAX_NUMNODES} nodes")
        sizes = []
        for i, size in enumerate(nodes):
            if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
                raise ConfigError(f"nodes[{i}] = {size!r}: a node size is a positive number of bytes")
            if size % (page_size * block):
                raise ConfigError(f"nodes[{i}] = {size}: a node size must be a multiple of "
                                  f"{page_size * block} bytes (a MAX_PAGE_ORDER block)")
            sizes.append(size // page_size)
        if sum(sizes) != nr_pages:
            raise ConfigError(f"nodes: the node sizes add up to {sum(sizes) * page_size} bytes, "
                              f"the memory is {nr_pages * page_size} bytes")
    spans, start = [], 0
    for size in sizes:
        spans.append((start, size))
        start += size
    return spans


def _cpu_map(nr_cpus, nr_nodes, cpus_per_node):
    if cpus_per_node is None:
        return [c * nr_nodes // nr_cpus for c in range(nr_cpus)]
    if (not isinstance(cpus_per_node, (list, tuple)) or len(cpus_per_node) != nr_nodes
            or any(isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in cpus_per_node)):
        raise ConfigError(f"cpus_per_node = {cpus_per_node!r}: a list of {nr_nodes} CPU counts, "
                          "one per node")
    if sum(cpus_per_node) != nr_cpus:
        raise ConfigError(f"cpus_per_node = {list(cpus_per_node)} adds up to {sum(cpus_per_node)} "
                          f"CPUs; the machine has {nr_cpus}")
    out = []
    for nid, count in enumerate(cpus_per_node):
        out += [nid] * count
    return out


def _distance(n, distance):
    if distance is None:
        return [[LOCAL_DISTANCE if a == b else REMOTE_DISTANCE for b in range(n)] for a in range(n)]
    if (not isinstance(distance, (list, tuple)) or len(distance) != n
            or any(not isinstance(row, (list, tuple)) or len(row) != n for row in distance)):
        raise ConfigError(f"distance: a {n} x {n} matrix (one row of {n} numbers per node)")
    out = []
    for a, row in enumerate(distance):
        for b, d in enumerate(row):
            if isinstance(d, bool) or not isinstance(d, int):
                raise ConfigError(f"distance[{a}][{b}] = {d!r}: a distance is a whole number")
            if a == b and d != LOCAL_DISTANCE:
                raise ConfigError(f"distance[{a}][{a}] = {d}: a node's distance to itself is "
                                  f"{LOCAL_DISTANCE} (LOCAL_DISTANCE)")
            if a != b and not LOCAL_DISTANCE < d <= 255:
                raise ConfigError(f"distance[{a}][{b}] = {d}: a remote distance is above "
                                  f"{LOCAL_DISTANCE} and at most 255")
        out.append(list(row))
    return out
