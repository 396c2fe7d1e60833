"""Pictures of a run: one self-contained HTML page from a run or sweep report.

    page(doc, traces=None) -> str     a run report (report.py) or a sweep report
                                      (tools/sweep.py, ``"kind": "sweep"``)
    write(path, doc, traces=None)     the page, written atomically

``traces``: {index of the run in ``doc["runs"]``: [(cpu, kind) steps]} for
the per-CPU timeline (``mmstress run --html`` passes the steps it has;
``mmstress report`` loads the .mmtrace the report names or ``--trace``).

What a run's section shows: its outcome and reproduce command, every splat
in the kernel's words (harness/outputs/text.py; collapsible ``<details>``,
the first one open), the timeline of CPUs from the trace, and the counters
sampled over time (harness/runtime/samples.py): zone free pages against the
min/low/high watermarks, the buddy free blocks by order and the
fragmentation index, the slab fast-path ratio per cache, lock contention
per lock and the activity of each CPU by context.  A sweep's page shows the
failures grouped by bug (record key) with counts and seeds, the outcome of
every seed, and the plots of the first failing run.

No network and no JavaScript: the plots are inline SVG drawn by
harness/outputs/html_svg.py (its docstring says why), styles are inline.
Everything that comes from the run (scenario names, messages, kernel text)
is escaped with ``html.escape``.
"""

import os
from html import escape

from kernel_model.extfrag import fragmentation_index

from harness.outputs import html_svg as svg
from harness.scenario import library_name
from harness.outputs import text as render
from harness.outputs.html_timeline import timeline_svg

CSS = """
body{font-family:sans-serif;margin:18px 28px;color:#222;max-width:1100px}
h1{font-size:20px;margin:0 0 6px} h2{font-size:17px;margin:26px 0 6px;border-bottom:1px solid #ddd}
h3{font-size:14px;margin:16px 0 4px}
.meta{color:#555;font-size:13px} code,pre{font-family:monospace;font-size:12px}
pre{background:#f7f7f7;border:1px solid #e2e2e2;padding:8px;overflow-x:auto;white-space:pre}
details{margin:4px 0} summary{cursor:pointer;font-family:monospace;font-size:13px}
.bug summary{color:#b00}
.status-passed{color:#080;font-weight:bold} .status-violations{color:#b00;font-weight:bold}
.status-failed{color:#000;font-weight:bold;background:#fdd}
table{border-collapse:collapse;font-size:12px} td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
.note{color:#777;font-size:12px;font-style:italic}
svg.plot{display:block;margin:6px 0;background:#fff}
.grid{display:flex;flex-wrap:wrap;gap:4px 10px}
"""
TOP_CACHES = 6
TOP_LOCKS = 15
STATUS_COLOURS = {"passed": "#2ca02c", "violations": "#d62728", "failed": "#222222",
                  "interrupted": "#ff7f0e"}


def _deltas(values):
    """Per-interval increments of a cumulative counter (the first sample is 0)."""
    return [0] + [max(0, b - a) for a, b in zip(values, values[1:])]


def _x_label(samples):
    return "scheduling step" if samples["clock"] == "step" else "time since start (ms)"


def _splats(run):
    out = []
    for i, v in enumerate(run.get("violations") or []):
        count = v.get("count", 1)
        times = f" (x{count})" if count and count > 1 else ""
        out.append(f'<details class="bug"{" open" if i == 0 else ""}><summary>'
                   f'{escape(v.get("title") or v.get("kind", "?"))}{escape(times)}</summary>'
                   f'<pre>{escape(render.render(v))}</pre></details>')
    for f in run.get("failures") or []:
        if f.get("kind") == "soft-lockup":
            continue                         # shown as its violation above
        tb = f.get("traceback")
        body = f"{f.get('message', '')}\n{tb.rstrip()}" if tb else f.get("message", "")
        out.append(f'<details class="bug"><summary>FAILURE ({escape(f.get("kind", "?"))}): '
                   f'{escape(str(f.get("message", "")).splitlines()[0] if f.get("message") else "")}'
                   f'</summary><pre>{escape(body)}</pre></details>')
    for p in run.get("invariants") or []:
        out.append(f"<pre>BUG: allocator state corrupt: {escape(p)}</pre>")
    return out


def _zone_plots(samples, vlines):
    out = ['<p class="note" style="flex-basis:100%">Free pages exclude the per-CPU lists, as '
           '/proc/zoneinfo counts them.  Fragmentation index (mm/vmstat.c): -1 an allocation of '
           'that order would succeed; towards 0 it would fail for lack of memory, towards 1 '
           'for fragmentation.</p>']
    xs = samples["t"]
    for z in samples["zones"]:
        name = z["name"]
        out.append(svg.line_chart(
            f"zone-{name}", f"Zone {name}: free pages and watermarks", xs,
            [("free pages", z["free"], "#1f77b4", None), ("high", z["high"], "#2ca02c", "5,3"),
             ("low", z["low"], "#ff7f0e", "5,3"), ("min", z["min"], "#d62728", "5,3")],
            _x_label(samples), "pages", vlines=vlines))
        rows = [(f"order {o}", z["nr_free"][o]) for o in range(len(z["nr_free"]) - 1, -1, -1)]
        out.append(svg.heatmap(f"buddy-{name}", f"Zone {name}: buddy free blocks by order", xs, rows, _x_label(samples),
                               "free blocks", log=True))
        by_time = list(zip(*z["nr_free"]))               # [nr_free by order] per sample
        extfrag = [[fragmentation_index(row, o) for row in by_time] for o in range(len(z["nr_free"]))]
        orders = [o for o in range(1, len(extfrag)) if any(v != -1000 for v in extfrag[o])]
        orders = (orders or [1, 2, 3])[:len(svg.PALETTE)]
        out.append(svg.line_chart(
            f"extfrag-{name}", f"Zone {name}: fragmentation index (extfrag_index)", xs,
            [(f"order {o}", [v / 1000 for v in extfrag[o]], svg.PALETTE[i % len(svg.PALETTE)], None)
             for i, o in enumerate(orders)],
            _x_label(samples), "index", y_range=(-1.05, 1.05), y_fmt=lambda v: f"{v:g}", vlines=vlines))
    return out


def _slab_plots(samples, vlines):
    caches = sorted(samples["caches"], key=lambda c: (-(c["alloc_fastpath"][-1] + c["alloc_slowpath"][-1]),
                                                      c["name"]))
    if not caches:
        return ['<p class="note">No slab cache allocated anything (or the scenario has no slab '
                'allocator): no fast-path ratio to show.</p>']
    items = []
    for c in caches:
        fast, slow = c["alloc_fastpath"][-1], c["alloc_slowpath"][-1]
        ratio = fast / (fast + slow)
        items.append((c["name"], ratio, "#1f77b4",
                      f"{c['name']}: {fast:,} fast-path, {slow:,} slow-path allocations"))
    out = [svg.bar_chart("slab-fastpath", "Slab fast-path ratio per cache (alloc_fastpath share)", items,
                         "fast-path share of allocations", x_max=1.0, x_fmt=lambda v: f"{v:.1%}")]
    series = []
    for i, c in enumerate(caches[:TOP_CACHES]):
        df, ds = _deltas(c["alloc_fastpath"]), _deltas(c["alloc_slowpath"])
        series.append((c["name"], [f / (f + s) if f + s else None for f, s in zip(df, ds)],
                       svg.PALETTE[i], None))
    out.append(svg.line_chart("slab-fastpath-time", "Slab fast-path ratio over time (busiest caches)", samples["t"], series, _x_label(samples),
                              "fast-path ratio", y_range=(0, 1.02), y_fmt=lambda v: f"{v:.0%}",
                              vlines=vlines))
    return out


def _lock_plots(samples, vlines):
    locks = sorted(samples["locks"], key=lambda lk: (-lk["contended"][-1], -lk["acquired"][-1], lk["name"]))
    if not locks:
        return ['<p class="note">No spinlock was taken.</p>']
    shown = locks[:TOP_LOCKS]
    items = [(lk["name"], lk["contended"][-1], "#ff7f0e",
              f"{lk['name']}: contended {lk['contended'][-1]:,} of {lk['acquired'][-1]:,} acquisitions")
             for lk in shown]
    out = [svg.bar_chart("lock-contention", "Lock contention per lock (busiest first)", items, "contended acquisitions")]
    series = [(lk["name"], _deltas(lk["contended"]), svg.PALETTE[i], None)
              for i, lk in enumerate(shown[:5])]
    out.append(svg.line_chart("lock-contention-time", "Lock contention over time (per interval)",
                              samples["t"], series, _x_label(samples), "contended", vlines=vlines))
    return out


def _cpu_plots(samples):
    rows = []
    for c in samples["cpus"]:
        for ctx, values in c["calls"].items():
            if any(values):
                rows.append((f"CPU {c['cpu']} {ctx}", _deltas(values)))
        rows.append((f"CPU {c['cpu']} hardirqs", _deltas(c["irqs"])))
    return [svg.heatmap("cpu-activity", "Per-CPU activity: calls by context, hardirqs", samples["t"], rows, _x_label(samples), "per interval")]


def run_section(run, steps=None, level=2, anchor="run0"):
    """The HTML of one run object (report.schema.json's ``run``), headed at ``<h{level}>``;
    its parts are linkable as ``#{anchor}-splats``, ``-timeline``, ``-zones``, ``-slab``,
    ``-locks``, ``-cpus``."""
    status = str(run.get("status", "?"))
    heading, sub = f"h{level}", f"h{level + 1}"
    parts = [f'<section class="run"><{heading}>{escape(str(run.get("scenario", "?")))}: '
             f'<span class="status-{escape(status)}">{escape(status)}</span></{heading}>',
             f'<p class="meta">seed {escape(str(run.get("seed")))}, {escape(str(run.get("cpus")))} CPUs, '
             f'{escape(str(run.get("allocator")))}, {escape(str(run.get("elapsed")))} s, exit code '
             f'{escape(str(run.get("exit_code")))}; {escape(str(run.get("description") or ""))}</p>',
             f'<p class="meta">reproduce: <code>{escape(run.get("reproduce", ""))}</code></p>']
    splats = _splats(run)
    if splats:
        parts.append(f'<{sub} id="{anchor}-splats">What the kernel would print</{sub}>')
        parts += splats
    violations = run.get("violations") or []
    if steps is not None and len(steps):
        parts.append(f'<{sub} id="{anchor}-timeline">Which CPU ran what</{sub}>')
        parts.append(timeline_svg(steps, run.get("cpus") or 1, violations))
    samples = run.get("samples")
    if not samples or not samples.get("t"):
        parts.append('<p class="note">This report has no samples over time (written by an older '
                     'mmstress): no plots.</p>')
    else:
        vlines = []
        if samples["clock"] == "step":
            vlines = [(v["step"], "#d62728", f"{v.get('kind')} at step {v['step']}")
                      for v in violations if isinstance(v.get("step"), int)]
        for part, title, plots in (("zones", "Zones and the buddy allocator", _zone_plots(samples, vlines)),
                                   ("slab", "Slab fast path", _slab_plots(samples, vlines)),
                                   ("locks", "Lock contention", _lock_plots(samples, vlines)),
                                   ("cpus", "CPUs", _cpu_plots(samples))):
            parts.append(f'<{sub} id="{anchor}-{part}">{title}</{sub}>')
            parts.append('<div class="grid">' + "\n".join(plots) + "</div>")
        parts.append(f'<p class="note">{len(samples["t"])} samples, one every '
                     f'{samples["interval"]} {"steps" if samples["clock"] == "step" else "ms"} '
                     f'at the end of the run.</p>')
    for view, text in (run.get("proc") or {}).items():
        parts.append(f"<details><summary>$ cat /proc/{escape(view)}</summary><pre>{escape(text)}</pre></details>")
    parts.append("</section>")
    return "\n".join(parts)


def _seed_strip(runs):
    """One cell per run, coloured by its outcome, in the sweep's order."""
    shown = runs[:2000]
    cols = max(1, min(50, len(shown)))
    cell = 12
    rows = (len(shown) + cols - 1) // cols
    body = []
    for i, r in enumerate(shown):
        x, y = svg.MARGIN_L + (i % cols) * cell, svg.MARGIN_T + (i // cols) * cell
        colour = STATUS_COLOURS.get(r.get("status"), "#999999")
        body.append(f'<rect class="data" x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                    f'fill="{colour}"><title>{escape(str(r.get("scenario")))} seed {escape(str(r.get("seed")))}: '
                    f'{escape(str(r.get("status")))}</title></rect>')
    lx = svg.MARGIN_L + cols * cell + 12
    for i, (status, colour) in enumerate(STATUS_COLOURS.items()):
        body.append(f'<rect x="{lx}" y="{svg.MARGIN_T + i * 15}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{lx + 14}" y="{svg.MARGIN_T + i * 15 + 5}" {svg.FONT} '
                    f'dominant-baseline="middle">{status}</text>')
    more = f" (first {len(shown):,} of {len(runs):,})" if len(runs) > len(shown) else ""
    return svg._frame("sweep-seeds", f"Outcome of every run, in sweep order{more}", lx + 110,
                      max(svg.MARGIN_T + rows * cell + 10, svg.MARGIN_T + 70), body)


def _find_violation(runs, scenario, seed, key):
    for r in runs:
        if r.get("scenario") == scenario and r.get("seed") == seed:
            for v in r.get("violations") or []:
                if v.get("key") == key:
                    return r, v
            return r, None
    return None, None


def sweep_page_body(doc):
    runs = doc.get("runs") or []
    counts = doc.get("counts") or {}
    groups = doc.get("groups") or []
    names = [library_name(s) or str(s) if isinstance(s, str) else str(s) for s in doc.get("scenarios") or []]
    parts = [f"<h1>mmstress sweep: {escape(', '.join(names))}</h1>",
             f'<p class="meta">seeds {escape(str(doc.get("seeds")))}, {escape(str(doc.get("jobs")))} at a time, '
             f'{escape(str(doc.get("elapsed")))} s; exit code {escape(str(doc.get("exit_code")))}; '
             f'<code>{escape(str(doc.get("command", "")))}</code></p>',
             "<table><tr>" + "".join(f"<th>{escape(k)}</th>" for k in counts) + "</tr><tr>"
             + "".join(f"<td>{escape(str(v))}</td>" for v in counts.values()) + "</tr></table>",
             _seed_strip(runs)]
    parts.append("<h2>Failures grouped by bug</h2>")
    if not groups:
        parts.append('<p class="note">No run failed: no bug to group.</p>')
    else:
        items = [(f"{g.get('kind')} {os.path.basename(str(g.get('site', '')))}", g.get("count", 0), "#d62728",
                  f"{g.get('title')}: {g.get('count')} run(s)") for g in groups]
        parts.append(svg.bar_chart("sweep-groups", "Runs that hit each bug (one bar per record key)",
                                   items, "runs", width=2 * svg.WIDTH + 10))
        parts.append("<table><tr><th>bug</th><th>runs</th><th>seeds</th><th>sites</th></tr>")
        for g in groups:
            seeds = [str(r.get("seed")) for r in g.get("runs") or []]
            shown = ", ".join(seeds[:40]) + (f", ... ({len(seeds)} in all)" if len(seeds) > 40 else "")
            sites = ", ".join(f"{s} ({n})" for s, n in (g.get("sites") or {}).items())
            parts.append(f"<tr><td>{escape(str(g.get('title')))}<br><code>{escape(str(g.get('key')))}</code></td>"
                         f"<td>{escape(str(g.get('count')))}</td><td>{escape(shown)}</td>"
                         f"<td>{escape(sites)}</td></tr>")
        parts.append("</table>")
        parts.append("<h2>One splat of each bug</h2>")
        for g in groups:
            first = (g.get("runs") or [{}])[0]
            run, v = _find_violation(runs, first.get("scenario"), first.get("seed"), g.get("key"))
            text = render.render(v) if v else str(g.get("title"))
            parts.append(f'<details class="bug"><summary>{escape(str(g.get("title")))} '
                         f'({escape(str(g.get("count")))} runs)</summary><pre>{escape(text)}</pre>'
                         f'<p class="meta">reproduce: <code>{escape(str(first.get("reproduce", "")))}</code></p>'
                         "</details>")
    failing = [r for r in runs if r.get("status") not in ("passed", None) and r.get("samples")]
    if failing:
        parts.append(f"<h2>The first failing run (seed {escape(str(failing[0].get('seed')))})</h2>")
        parts.append(run_section(failing[0], level=3, anchor="first-failing"))
    return "\n".join(parts)


def run_page_body(doc, traces=None):
    traces = traces or {}
    runs = doc.get("runs") or []
    parts = [f"<h1>mmstress: {escape(', '.join(str(r.get('scenario')) for r in runs) or 'no runs')}</h1>",
             f'<p class="meta">exit code {escape(str(doc.get("exit_code")))}, seed {escape(str(doc.get("seed")))}'
             f'{", interrupted by " + escape(str(doc["interrupted"])) if doc.get("interrupted") else ""}; '
             f'<code>{escape(str(doc.get("command", "")))}</code></p>']
    for i, run in enumerate(runs):
        parts.append(run_section(run, traces.get(i), anchor=f"run{i}"))
    return "\n".join(parts)


def page(doc, traces=None):
    """The whole HTML document for a run or sweep report."""
    sweep = doc.get("kind") == "sweep"
    body = sweep_page_body(doc) if sweep else run_page_body(doc, traces)
    title = "mmstress sweep" if sweep else "mmstress run"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title><style>{CSS}</style></head><body>\n{body}\n"
            f'<p class="note">mmstress {escape(str(doc.get("version", "")))}: a self-contained page '
            "(inline SVG, no scripts, no network)</p></body></html>\n")


def write(path, doc, traces=None):
    text = page(doc, traces)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
