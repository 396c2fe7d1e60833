"""What a validated scenario holds: ``Scenario`` (one per file) and ``MixConfig`` (one per context's op mix).

Built by ``harness.scenario.parse``; read by the supervisor (CPUs, memory,
interrupts, watchdog), the CPU processes (mixes, workload, checkers, faults)
and the reports (name, source).  Plain data: the only behaviour is the
memory layout it boots and the ``--ops``/``--duration`` text of its limit.
"""

from dataclasses import dataclass, field

from kernel_model import MemoryLayout

from harness.runtime import faults as _faults
from harness.scenario.units import format_duration

DEFAULT_DURATION = 3.0
MAX_CPUS = 64
MAX_OPS = 10**9           # iterations per CPU: a day's run at ten thousand a second
MAX_DEPTH = 16            # TOML nesting: a scenario needs three ([process] ops = [{...}])


@dataclass
class MixConfig:
    specs: list
    max_held: int
    free: float
    remote_free: float


@dataclass
class Scenario:
    name: str
    source: str
    description: str = ""
    cpus: int = 2
    duration: float | None = DEFAULT_DURATION
    ops: int | None = None
    seed: int | None = None
    arch: str = "x86_64"
    page_size: int = 4096
    memory: str = "64M"
    page_data: bool = True
    nodes: object = 1                               # [memory] nodes: a count or node sizes (bytes)
    cpus_per_node: list | None = None               # [memory] cpus_per_node
    distance: list | None = None                    # [memory] distance (node_distance matrix)
    slab: str | None = None
    irq_rate: float = 1000.0
    irq_jitter: float = 0.5
    irq_mask: str = "lazy"
    softirq_p: float = 1.0
    tasklet_p: float = 1.0
    watchdog: float = 5.0
    workload: str | None = None                     # as the scenario names it ("ring.py", "drivers.ring")
    workload_file: str | None = None                # the module's source file it was found at
    mixes: dict = field(default_factory=dict)       # context name -> MixConfig
    caches: list = field(default_factory=list)      # [(name, size)] for kmem_cache_alloc ops
    checkers: list = field(default_factory=list)
    expect: list = field(default_factory=list)      # kinds a planted-bug scenario must report
    planted: list = field(default_factory=list)     # kernel_model.planted switches
    fault: _faults.FaultConfig | None = None          # the [fault] section
    debug: object = None                            # harness.runtime.bootargs.BootArgs ([debug])
    tlb: object = None                              # kernel_model.tlb.TlbConfig ([tlb]); None: no TLB

    def layout(self):
        return MemoryLayout(self.arch, page_size=self.page_size, total=self.memory)

    def limit_text(self):
        return f"--ops {self.ops}" if self.ops else f"--duration {format_duration(self.duration)}"
