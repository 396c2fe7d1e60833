"""Reports of a run: the JSON document (schema in ``schemas/run.schema.json``) and the text summary.

JSON shape (``schema_version`` 3, ``kind`` "run"; one entry in ``runs`` per scenario)::

    {schema_version, kind, tool, version, command, seed, exit_code, interrupted,
     runs: [{scenario, source, description, seed, cpus, allocator, irq_mask, pinned,
             limit: {duration | ops | trace}, status, exit_code, elapsed,
             ops: {total, per_second, by_context: {ctx: n},
                   by_cpu: [{cpu, contexts: {ctx: {calls, ops: {op: n}}}}]},
             interrupts: {delivered, raised, in_model_code, deferred, coalesced,
                          in_softirq, softirqs, tasklets, ksoftirqd_wakeups,
                          by_cpu: [{cpu, <same keys>}]},
             mailbox: {sent, full, received, leftover},
             locks: [{name, acquired, contended, spins}],
             slab: null | {stats: {...}, alloc_fastpath_ratio, free_fastpath_ratio},
             memory: {arch, page_size, size, nr_pages, free_pages_at_end, checked},
             percpu: {name: [value per CPU]},
             violations: [record: {kind, key, title, cpu, context, pid, comm, seq, site,
                           frames, function, objects, objects_dropped, tracks, locks_held,
                           lock_chain, details, count, seen: [{cpu, context, count}]}],
             failures: [{kind, cpu, context, message, doing?, traceback?}],
             invariants: [problem text],
             proc: {view: text},
             sched: null | {strategy, steps, hash, truncated, diverged_at, stopped, trace},
             host: {name, cpus, worker},
             reproduce: "mmstress run ..." | "mmstress replay TRACE",
             samples: null | {clock, interval, t, zones, caches, locks, cpus}
                      (counters over time: harness/runtime/samples.py)}]}

Version 3: every document the tool writes carries ``kind`` (``outputs/schemas/``).
Version 2: a violation is the checker's record (``harness/checkers/record.py``),
merged over CPUs by ``key`` (kind + normalised workload site; ``merge.py``):
no ``text`` -- the text is ``harness/outputs/text.py``'s rendering of the
record (``title`` is its first line).  Failures carry the workload ``site``
of the exception when there is one.

``failures`` kinds: workload-error (a workload raised anything), cpu-exited (a CPU
exited unasked), soft-lockup (exit 1); cpu-died (killed by a signal), timeout,
start-timeout, harness-error, not-replayable (exit 3: the harness's own).

``host`` is where the run ran: the machine's host name, the CPUs this process
may run on, and the pytest-xdist worker (``gw0``...) when a sweep or ``pytest
--mmstress`` ran it on one (else null), so a flaky host shows in a sweep across
machines.  A library scenario's ``reproduce`` names it (``larson``,
``bugs/lock_abba``), never the path it is installed at, so it works on any host.
"""

import json
import os
import re
import socket

from harness.exits import printable
from harness.outputs import merge, schemas
from harness.outputs.recording import replay_command
from harness.outputs import text as render
from harness.runtime import counters as C
from harness.scenario import format_duration, library_name

SCHEMA_VERSION = schemas.SCHEMA_VERSION
SCHEMA_PATH = schemas.path("run")
_IRQ_KEYS = {"raised": "irq_raised", "delivered": "irq_delivered", "in_model_code": "irq_in_model",
             "deferred": "irq_deferred", "coalesced": "irq_coalesced",
             "in_softirq": "irq_in_softirq", "softirqs": "softirq_runs",
             "tasklets": "tasklet_runs", "ksoftirqd_wakeups": "ksoftirqd_wakeups"}


def reproduce_command(result):
    """The one command that redoes this run (see harness/scheduler/options.py for what each
    schedule promises): a recorded trace replays; a serialised schedule reruns from
    its seed; an unscheduled run reruns the same op streams (the interleaving is the OS's)."""
    trace = getattr(result, "trace_path", None)
    opts = result.sched_options
    if trace and opts is not None and opts.strategy in ("free", "replay"):
        return replay_command(trace, result.scenario)
    sc = result.scenario
    what = library_name(sc.source) or sc.source
    limit = f"--ops {sc.ops}" if sc.ops else f"--duration {format_duration(sc.duration)}"
    mask = f" --irq-mask {result.irq_mask}" if result.irq_mask != "lazy" else ""
    sched = " " + " ".join(opts.args()) if opts is not None and opts.args() else ""
    return f"mmstress run {what} --seed {result.seed} --cpus {sc.cpus} {limit}{mask}{sched}"


def run_dict(result):
    sc = result.scenario
    cnt = result.counters
    n = sc.cpus
    ops, stat = cnt.get("ops"), cnt.get("stat")
    by_cpu, by_ctx, total_ops = [], {c: 0 for c in C.CONTEXTS}, 0
    for cpu in range(n if ops else 0):
        ctxs = {}
        for x, cname in enumerate(C.CONTEXTS):
            row = ops[cpu][x]
            named = {C.OPS[o]: row[o] for o in range(1, C.NR_OPS) if row[o]}
            ctxs[cname] = {"calls": row[C.OP_CALL], "ops": named}
            by_ctx[cname] += row[C.OP_CALL]
            total_ops += sum(named.values())
        by_cpu.append({"cpu": cpu, "contexts": ctxs})
    irq_cpu = [{"cpu": cpu, **{k: stat[cpu][C.STAT[s]] for k, s in _IRQ_KEYS.items()}}
               for cpu in range(n if stat else 0)]
    irq = {k: sum(c[k] for c in irq_cpu) for k in _IRQ_KEYS}

    def tot(s):
        return sum(stat[cpu][C.STAT[s]] for cpu in range(n)) if stat else 0
    elapsed = result.elapsed
    return {
        "scenario": sc.name, "source": sc.source, "description": sc.description,
        "seed": result.seed, "cpus": n, "allocator": sc.slab or "pages-only",
        "irq_mask": result.irq_mask, "pinned": result.pinned,
        "limit": ({"ops": sc.ops} if sc.ops else {"duration": sc.duration} if sc.duration
                  else {"trace": True}),        # a replay lasts as long as its trace
        "status": result.status, "exit_code": result.exit_code, "elapsed": round(elapsed, 3),
        "ops": {"total": total_ops, "per_second": round(total_ops / elapsed, 1) if elapsed else 0.0,
                "by_context": by_ctx, "by_cpu": by_cpu},
        "interrupts": {**irq, "by_cpu": irq_cpu},
        "mailbox": {"sent": tot("mbox_sent"), "full": tot("mbox_full"),
                    "received": tot("mbox_recv"), "leftover": tot("mbox_leftover")},
        "locks": result.locks, "slab": result.slab, "memory": result.memory,
        "percpu": result.percpu, "tlb": getattr(result, "tlb", None),
        "violations": [merge.as_record(v) for v in result.violations],
        "failures": result.failures,
        "invariants": result.invariants, "proc": result.proc,
        "sched": dict(result.sched, trace=getattr(result, "trace_path", None)) if result.sched else None,
        "host": host(),
        "reproduce": reproduce_command(result),
        "samples": getattr(result, "samples", None),
    }


def host(worker=None):
    """{name, cpus, worker} of this process: host name, CPUs it may run on, the xdist worker id
    (``gw0``; the pytest plugin fills it in on a worker, None elsewhere)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return {"name": socket.gethostname(), "cpus": cpus,
            "worker": worker}


def document(results, command, seed, exit_code, interrupted=None, kind="run"):
    """The JSON document of ``results`` (``kind`` "run", or "replay"/"sweep" that extend it)."""
    return {**schemas.header(kind), "command": command, "seed": seed, "exit_code": exit_code,
            "interrupted": interrupted, "runs": [run_dict(r) for r in results]}


# an array of numbers as json.dump(indent=1) spreads it, one per line (a string cannot
# hold a raw newline, so only real arrays match)
_NUMBER_LIST = re.compile(r"\[\n\s*-?[\d.eE+-]+(?:,\n\s*-?[\d.eE+-]+)*\n\s*\]")


def _one_line(match):
    return "[" + ", ".join(part.strip() for part in match.group(0)[1:-1].split(",")) + "]"


def write_json(path, doc):
    """Indented JSON, with each array of numbers (the samples' series) on one line."""
    text = _NUMBER_LIST.sub(_one_line, json.dumps(doc, indent=1, default=str))
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.write("\n")
    os.replace(tmp, path)


def summary(run):
    """The end-of-run text for people."""
    out = []
    ctxs = C.CONTEXTS
    head = f"{'CPU':>4}  " + "".join(f"{c:>12}" for c in ctxs) + f"{'interrupts':>12}"
    out.append(f"== {run['scenario']}: {run['status']} in {run['elapsed']:.2f}s "
               f"(seed {run['seed']}, {run['cpus']} CPUs, {run['allocator']}, irq mask "
               f"{run['irq_mask']})")
    out.append(head)
    for cpu, irq in zip(run["ops"]["by_cpu"], run["interrupts"]["by_cpu"]):
        out.append(f"{cpu['cpu']:>4}  " + "".join(f"{cpu['contexts'][c]['calls']:>12,}" for c in ctxs)
                   + f"{irq['delivered']:>12,}")
    out.append(f"{'all':>4}  " + "".join(f"{run['ops']['by_context'][c]:>12,}" for c in ctxs)
               + f"{run['interrupts']['delivered']:>12,}")
    i = run["interrupts"]
    out.append(f"throughput: {run['ops']['total']:,} allocator ops, {run['ops']['per_second']:,.0f} ops/s")
    out.append(f"interrupts: {i['delivered']:,} delivered ({i['in_model_code']:,} arrived inside model "
               f"code in process context, {i['deferred']:,} held back by irq-off sections and "
               f"delivered at unmask, {i['in_softirq']:,} nested in a softirq); softirqs "
               f"{i['softirqs']:,}, tasklets {i['tasklets']:,}, ksoftirqd wakeups {i['ksoftirqd_wakeups']:,}")
    m = run["mailbox"]
    out.append(f"mailbox: {m['sent']:,} sent, {m['received']:,} received, {m['full']:,} refused (full)")
    busy = [lk for lk in run["locks"] if lk["contended"]][:5]
    if busy:
        out.append("lock contention: " + ", ".join(
            f"{lk['name']} {lk['contended']:,}/{lk['acquired']:,}" for lk in busy))
    slab = run["slab"]
    if slab and slab.get("alloc_fastpath_ratio") is not None:
        out.append(f"slab fast path: alloc {slab['alloc_fastpath_ratio']:.1%}"
                   + (f", free {slab['free_fastpath_ratio']:.1%}" if slab.get("free_fastpath_ratio")
                      is not None else ""))
    for nd in (run.get("memory") or {}).get("numa") or []:
        st = nd["numastat"]
        cpus = ",".join(map(str, nd["cpus"])) or "none"
        out.append(f"node {nd['node']} (CPUs {cpus}): " + ", ".join(
            f"{name} {st[name]:,}" for name in ("numa_hit", "numa_miss", "numa_foreign",
                                                 "local_node", "other_node")))
    tlb = run.get("tlb")
    if tlb:
        out.append(f"tlb: {tlb['hits']:,} hits, {tlb['misses']:,} misses, {tlb['flushes']:,} flushes")
        for c in tlb["by_cpu"]:
            out.append(f"  CPU {c['cpu']}: {c['hits']:,} hits, {c['misses']:,} misses "
                       f"({c['small_misses']:,} on base pages, {c['large_misses']:,} on large "
                       f"pages), {c['flushes']:,} flushes")
    for view, text in run["proc"].items():
        out.append(f"$ cat /proc/{view}\n{text.rstrip()}")
    for v in run["violations"]:
        out.append("\n" + render.render(v))
    for f in run["failures"]:
        if f["kind"] == "soft-lockup":
            continue                     # already printed as a violation
        out.append(f"\nFAILURE ({f['kind']}): {f['message']}")
        if f.get("traceback"):
            out.append(f["traceback"].rstrip())
    for p in run["invariants"]:
        out.append(f"BUG: allocator state corrupt: {p}")
    sched = run.get("sched")
    if sched:
        extra = f", trace {sched['trace']}" if sched.get("trace") else ""
        extra += " (TRUNCATED: not replayable)" if sched.get("truncated") else ""
        out.append(f"schedule: {sched['strategy']}, {sched['steps']:,} steps, "
                   f"trace hash {sched['hash']}{extra}")
    out.append(f"reproduce: {run['reproduce']}")
    if not sched and run["exit_code"] == 1:
        out.append("  (the seed fixes each CPU's operations; the interleaving was the OS's. For a "
                   "command that shows this violation every time: add --repro, or mmstress repro "
                   "REPORT.json, which searches reproducible schedules of this seed; to replay "
                   "this kind of run: --sched free)")
    return printable("\n".join(out), multiline=True)     # names, messages: from user files
