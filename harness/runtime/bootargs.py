"""The scenario's ``[debug]`` section: the kernel command line's debug switches.

    [debug]
    slub_debug = "FZPU"     # any subset of F Z P U (consistency checks, red zones,
                            # poisoning, user tracks) given to every cache, or "-"
                            # (off): the real kernel's slab geometry (/proc/slabinfo
                            # objsize, objperslab, pagesperslab as a 6.12 kernel's);
                            # absent: the model's default, PZU
    kasan = true            # false: no KASAN access checks (k.read/k.write/memset and
                            # the vmalloc/page shadow); frees are still checked by SLUB
    kasan_fault = "report"  # "panic": the first KASAN report stops the run (kasan.fault=;
                            # the quoted key "kasan.fault" is accepted too)
    kasan_multi_shot = true # false: only the first KASAN report of each CPU is kept
                            # (the kernel keeps the first of the machine)
    quarantine = 0          # objects each CPU's KASAN quarantine holds back from reuse
    page_poison = false     # freed pages are filled with 0xaa and checked when allocated
                            # again ("pagealloc: memory corruption"; needs the kasan_pages
                            # checker, which keeps the per-page state the kernel keeps in
                            # page_ext); it takes precedence over init_on_free, as in 6.12
    init_on_alloc = false   # pages are zeroed when allocated (as __GFP_ZERO)
    init_on_free = false    # pages are zeroed when freed
                            # (page allocator only: the slab is another branch's)

Defaults: every switch as the harness had it before the section existed
(slub_debug=PZU, KASAN reports everything, no quarantine), so scenarios
without the section behave as before -- except ``checkers = []``: with no
checker to read the SLUB_DEBUG data, a scenario without a ``slub_debug``
switch boots without the debug layout (the kernel's slab geometry and
speed); give ``slub_debug = "PZU"`` to keep it (the bench row "checker
overhead" does, so that it compares all checkers with none on one memory
layout).

The model's slab KASAN keeps its per-object state in SLUB_DEBUG's data,
which needs U: without U (and with "-") slab use-after-free and
out-of-bounds accesses are not detected, while page, vmalloc and large
kmalloc KASAN (checker kasan_pages) still is.  F sends every cache down the
kernel's locked debug route.
"""

from dataclasses import dataclass

from kernel_model import debug

SLUB_DEBUG_LETTERS = "FZPU"
KASAN_TITLE = "BUG: KASAN: "


@dataclass
class BootArgs:
    slub_debug: str | None = None      # None: the model's default (PZU)
    kasan: bool = True
    kasan_fault: str = "report"
    kasan_multi_shot: bool = True
    quarantine: int = 0
    page_poison: bool = False
    init_on_alloc: bool = False
    init_on_free: bool = False

    @property
    def slub_debug_on(self):
        return self.slub_debug != "-"

    @property
    def boot_slub_debug(self):
        """What kernel_model.boot(slub_debug=...) takes."""
        return True if self.slub_debug is None else self.slub_debug


def parse(v, table):
    """The [debug] table -> BootArgs; ``v`` is scenario._V (errors name the line)."""
    path = ("debug",)
    if not isinstance(table, dict):
        v.fail(path, f"a table expected, got {type(table).__name__}")
    if isinstance(table.get("kasan"), dict):            # kasan.fault = ... unquoted
        sub = table["kasan"]
        v.keys(sub, path + ("kasan",), ("fault",))
        table = {k: x for k, x in table.items() if k != "kasan"} | {"kasan_fault": sub["fault"]}
    if "kasan.fault" in table:
        table = {k: x for k, x in table.items() if k != "kasan.fault"} | \
            {"kasan_fault": table["kasan.fault"]}
    v.keys(table, path, ("slub_debug", "kasan", "kasan_fault", "kasan_multi_shot", "quarantine",
                         "page_poison", "init_on_alloc", "init_on_free"))
    args = BootArgs()
    sd = v.typed(table, path, "slub_debug", (str,), 'a subset of "FZPU" or "-"', args.slub_debug)
    if sd is not None and sd != "-" and (not sd or any(c not in SLUB_DEBUG_LETTERS for c in sd)):
        v.fail(path + ("slub_debug",), f"{sd!r} is not allowed; allowed: a non-empty subset of "
                                       f"{SLUB_DEBUG_LETTERS} (as slub_debug=FZPU), or \"-\" (off)")
    args.slub_debug = sd
    args.kasan = v.typed(table, path, "kasan", (bool,), "true or false", True)
    args.kasan_fault = v.choice(table, path, "kasan_fault", ("report", "panic"), "report")
    args.kasan_multi_shot = v.typed(table, path, "kasan_multi_shot", (bool,), "true or false", True)
    args.quarantine = v.number(table, path, "quarantine", 0, 1 << 20, 0, integer=True)
    for key in ("page_poison", "init_on_alloc", "init_on_free"):
        setattr(args, key, v.typed(table, path, key, (bool,), "true or false", False))
    return args


def apply_boot(node, args):
    """After boot, before the CPUs fork: the switches that live in the model."""
    if args is None:
        return
    if getattr(node, "slab", None) is not None:
        node.slab.quarantine_max = args.quarantine
    node.page_poisoning = args.page_poison
    node.init_on_alloc = args.init_on_alloc
    node.init_on_free = args.init_on_free and not args.page_poison


def _no_access_check(addr, size, write):
    pass


def _no_fault(addr, size, write):
    return False


def apply_hooks(hooks, sink, args, ctl=None, stop_slot=None):
    """The switches that shape reporting: kasan=false, multi-shot, kasan.fault=panic.

    ``ctl``/``stop_slot``: the run's control words (run_ctl, CTL_STOP): a panic
    sets the stop word, so every CPU ends its iteration and tears down."""
    if args is None:
        return
    if not args.kasan:
        hooks.memory_access = _no_access_check
        hooks.kernel_fault = _no_fault
    if args.kasan_multi_shot and args.kasan_fault == "report":
        return
    state = {"seen": 0}
    add = sink.add

    def kasan_add(v):
        if not (v.compute_title() or v.title or "").startswith(KASAN_TITLE):
            return add(v)
        state["seen"] += 1
        if state["seen"] > 1 and not args.kasan_multi_shot:
            return None                     # kasan_multi_shot off: first report only
        if args.kasan_fault == "panic" and state["seen"] == 1:
            if v.text:                      # a record of the old text API: say it in its text
                v.text += ("\nKernel panic - not syncing: kasan.fault=panic set ...\n"
                           "(the run stops: every CPU ends its iteration and tears down)")
            else:
                v.details = dict(v.details, panic="kasan.fault=panic: the run stops")
            if ctl is not None and stop_slot is not None:
                ctl[stop_slot] = 1
            debug.printk("Kernel panic - not syncing: kasan.fault=panic set ...")
        return add(v)
    sink.add = kasan_add
