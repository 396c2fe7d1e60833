"""Plots as inline SVG text: line charts, heat maps, bar charts and per-CPU lanes.

Why our own SVG and not a plotting library.  The pictures of a run must be
one self-contained HTML file that needs no network when it is opened, must
be the same bytes for the same report (the screenshots in the README, the
tests), and must not make a stress harness depend on a plotting stack.
matplotlib would do it (its SVG backend) but costs a 40 MB dependency and a
second of import for four kinds of chart; a JavaScript library (uPlot,
Chart.js) would have to be inlined, and would draw only when a browser runs
it, so a test could not read the plot in the file.  These four charts are a
few hundred lines of ``<path>`` and ``<rect>``; the browser does the rest,
and a ``<title>`` on each mark is its tooltip.

Every chart is an ``<svg class="plot" data-plot=NAME>``; each mark that
carries data has ``class="data"`` (the headless-browser test counts them).
All text that comes from a run (cache, lock, scenario names) is escaped
here, with ``html.escape``.  Numbers are printed with fixed precision so the
output is deterministic.
"""

import math
from html import escape

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939")
FONT = 'font-family="sans-serif" font-size="11"'
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 58, 14, 26, 34
WIDTH = 540


def _f(x):
    """A coordinate with two decimals (deterministic, short)."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def nice_ticks(lo, hi, count=5):
    """Round tick values covering [lo, hi] (1, 2, 5 times a power of ten)."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    ticks, v = [], first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 10))
        v += step
    return ticks


def _num(v):
    if abs(v) >= 1e6:
        return f"{v / 1e6:g}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def _frame(name, title, width, height, body):
    return (f'<svg class="plot" data-plot="{escape(name)}" xmlns="http://www.w3.org/2000/svg" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
            f'<text x="{MARGIN_L}" y="15" {FONT} font-weight="bold">{escape(title)}</text>'
            + "".join(body) + "</svg>")


def _axes(x0, y0, w, h, xlo, xhi, ylo, yhi, x_label, y_label, y_fmt=_num):
    """Axis lines, ticks, grid and labels; returns (body, sx, sy) with the scales."""
    def sx(x):
        return x0 + (x - xlo) / ((xhi - xlo) or 1) * w

    def sy(y):
        return y0 + h - (y - ylo) / ((yhi - ylo) or 1) * h
    body = [f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="#fafafa" stroke="#ccc"/>']
    for t in nice_ticks(ylo, yhi):
        if ylo <= t <= yhi:
            y = _f(sy(t))
            body.append(f'<line x1="{x0}" x2="{x0 + w}" y1="{y}" y2="{y}" stroke="#e4e4e4"/>'
                        f'<text x="{x0 - 4}" y="{y}" {FONT} text-anchor="end" '
                        f'dominant-baseline="middle">{escape(y_fmt(t))}</text>')
    for t in nice_ticks(xlo, xhi, 6):
        if xlo <= t <= xhi:
            x = _f(sx(t))
            body.append(f'<line x1="{x}" x2="{x}" y1="{y0 + h}" y2="{y0 + h + 4}" stroke="#888"/>'
                        f'<text x="{x}" y="{y0 + h + 15}" {FONT} text-anchor="middle">{_num(t)}</text>')
    body.append(f'<text x="{x0 + w / 2}" y="{y0 + h + 29}" {FONT} text-anchor="middle" '
                f'fill="#555">{escape(x_label)}</text>')
    body.append(f'<text x="12" y="{y0 + h / 2}" {FONT} text-anchor="middle" fill="#555" '
                f'transform="rotate(-90 12 {_f(y0 + h / 2)})">{escape(y_label)}</text>')
    return body, sx, sy


def _legend(x, y, items, width):
    """Legend entries in rows under a chart; returns (svg parts, height used)."""
    out = []
    cx, yy = x, y
    for label, color, dash in items:
        label = label[:28]
        need = 30 + 6.2 * len(label)
        if cx > x and cx + need > width:
            cx, yy = x, yy + 15
        d = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{_f(cx)}" x2="{_f(cx + 18)}" y1="{yy}" y2="{yy}" stroke="{color}" '
                   f'stroke-width="2"{d}/><text x="{_f(cx + 22)}" y="{yy}" {FONT} '
                   f'dominant-baseline="middle">{escape(label)}</text>')
        cx += need
    return out, (yy - y + 15) if items else 0


def line_chart(name, title, xs, series, x_label, y_label, width=WIDTH, height=210,
               y_range=None, y_fmt=_num, vlines=()):
    """``series``: [(label, values, color, dash or None)], one value per x (None: a gap).
    ``vlines``: [(x, color, label)] drawn across the plot (a violation, a start)."""
    x0, y0 = MARGIN_L, MARGIN_T
    w, h = width - MARGIN_L - MARGIN_R, height - MARGIN_T - MARGIN_B
    vals = [v for _, vs, _, _ in series for v in vs if v is not None]
    if y_range is not None:
        ylo, yhi = y_range
    else:
        ylo, yhi = min(vals + [0]), max(vals + [1])
        yhi = yhi + (yhi - ylo) * 0.05
    xlo, xhi = (xs[0], xs[-1]) if xs else (0, 1)
    body, sx, sy = _axes(x0, y0, w, h, xlo, xhi, ylo, yhi, x_label, y_label, y_fmt)
    for label, values, color, dash in series:
        parts, pen = [], "M"
        for x, v in zip(xs, values):
            if v is None:
                pen = "M"
                continue
            parts.append(f"{pen}{_f(sx(x))},{_f(sy(v))}")
            pen = "L"
        if not parts:
            continue
        d = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(f'<path class="data" d="{" ".join(parts)}" fill="none" stroke="{color}" '
                    f'stroke-width="1.6"{d}><title>{escape(label)}</title></path>')
    for x, color, label in vlines:
        if xlo <= x <= xhi:
            xx = _f(sx(x))
            body.append(f'<line x1="{xx}" x2="{xx}" y1="{y0}" y2="{y0 + h}" stroke="{color}" '
                        f'stroke-width="1.5"><title>{escape(label)}</title></line>')
    legend, extra = _legend(x0, height + 6, [(lbl, c, d) for lbl, _, c, d in series], width)
    return _frame(name, title, width, height + extra + 8, body + legend)


def _heat_color(frac):
    """White to dark blue; ``frac`` in [0, 1]."""
    frac = min(1.0, max(0.0, frac))
    r = int(247 - frac * (247 - 8))
    g = int(251 - frac * (251 - 48))
    b = int(255 - frac * (255 - 107))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(name, title, xs, rows, x_label, value_label, width=WIDTH, row_h=13, log=False):
    """``rows``: [(label, values)], one value per x; a cell's shade is its value over the
    largest (``log``: log(1 + value) over log(1 + largest))."""
    x0, y0 = MARGIN_L + 40, MARGIN_T
    w = width - x0 - 110
    h = max(row_h * len(rows), row_h)
    height = y0 + h + MARGIN_B
    top = max([v for _, vs in rows for v in vs] + [1])

    def shade(v):
        return math.log1p(v) / math.log1p(top) if log else v / top
    body = []
    n = len(xs)
    cw = w / max(n, 1)
    for r, (label, values) in enumerate(rows):
        y = y0 + r * row_h
        body.append(f'<text x="{x0 - 4}" y="{_f(y + row_h / 2)}" {FONT} text-anchor="end" '
                    f'dominant-baseline="middle">{escape(label)}</text>')
        for i, v in enumerate(values):
            if v <= 0:
                continue
            body.append(f'<rect class="data" x="{_f(x0 + i * cw)}" y="{y}" width="{_f(cw + 0.3)}" '
                        f'height="{row_h - 1}" fill="{_heat_color(shade(v))}"><title>{escape(label)} '
                        f'at {xs[i]:g}: {v:g} {escape(value_label)}</title></rect>')
    body.append(f'<rect x="{x0}" y="{y0}" width="{_f(w)}" height="{h}" fill="none" stroke="#ccc"/>')
    if xs:
        for t in nice_ticks(xs[0], xs[-1], 6):
            if xs[0] <= t <= xs[-1]:
                x = _f(x0 + (t - xs[0]) / ((xs[-1] - xs[0]) or 1) * w)
                body.append(f'<text x="{x}" y="{y0 + h + 15}" {FONT} text-anchor="middle">{_num(t)}</text>')
    body.append(f'<text x="{_f(x0 + w / 2)}" y="{y0 + h + 29}" {FONT} text-anchor="middle" '
                f'fill="#555">{escape(x_label)}</text>')
    lx = x0 + w + 12
    for i, frac in enumerate((0, 0.25, 0.5, 0.75, 1)):
        body.append(f'<rect x="{lx}" y="{y0 + i * 12}" width="12" height="12" '
                    f'fill="{_heat_color(frac)}" stroke="#ccc"/>')
    body.append(f'<text x="{lx + 16}" y="{y0 + 6}" {FONT} dominant-baseline="middle">0</text>'
                f'<text x="{lx + 16}" y="{y0 + 54}" {FONT} dominant-baseline="middle">{_num(top)}</text>'
                f'<text x="{lx}" y="{y0 + 72}" {FONT} fill="#555">{escape(value_label)}</text>'
                + (f'<text x="{lx}" y="{y0 + 86}" {FONT} fill="#555">(log scale)</text>' if log else ""))
    return _frame(name, title, width, max(height, y0 + 92), body)


def bar_chart(name, title, items, value_label, width=WIDTH, bar_h=16, x_max=None, x_fmt=_num):
    """Horizontal bars: ``items`` [(label, value, color, tooltip)], top to bottom."""
    x0, y0 = 190, MARGIN_T
    w = width - x0 - 60
    h = bar_h * len(items)
    top = x_max if x_max is not None else max([v for _, v, _, _ in items] + [1])
    body = []
    for i, (label, value, color, tip) in enumerate(items):
        y = y0 + i * bar_h
        bw = w * (value / top if top else 0)
        body.append(f'<text x="{x0 - 4}" y="{_f(y + bar_h / 2)}" {FONT} text-anchor="end" '
                    f'dominant-baseline="middle">{escape(label[:30])}</text>'
                    f'<rect class="data" x="{x0}" y="{y + 1}" width="{_f(max(bw, 0.5))}" '
                    f'height="{bar_h - 3}" fill="{color}"><title>{escape(tip)}</title></rect>'
                    f'<text x="{_f(x0 + bw + 4)}" y="{_f(y + bar_h / 2)}" {FONT} '
                    f'dominant-baseline="middle">{escape(x_fmt(value))}</text>')
    body.append(f'<line x1="{x0}" x2="{x0}" y1="{y0}" y2="{y0 + h}" stroke="#888"/>'
                f'<text x="{_f(x0 + w / 2)}" y="{y0 + h + 18}" {FONT} text-anchor="middle" '
                f'fill="#555">{escape(value_label)}</text>')
    return _frame(name, title, width, y0 + h + 28, body)


def lanes(name, title, nr_lanes, lane_label, spans, marks, vlines, x_max, x_label,
          legend, width=2 * WIDTH + 10, lane_h=22):
    """One horizontal lane per CPU: ``spans`` [(lane, x0, x1, color, tooltip)] as bars,
    ``marks`` [(lane, x, color, tooltip)] as ticks above the bar, ``vlines``
    [(x, color, label)] across all lanes; ``legend`` [(label, color)]."""
    x0, y0 = MARGIN_L, MARGIN_T
    w = width - MARGIN_L - 130
    h = lane_h * nr_lanes

    def sx(x):
        return x0 + x / (x_max or 1) * w
    body = []
    for lane in range(nr_lanes):
        y = y0 + lane * lane_h
        body.append(f'<rect x="{x0}" y="{y + 4}" width="{w}" height="{lane_h - 6}" fill="#f3f3f3"/>'
                    f'<text x="{x0 - 4}" y="{_f(y + lane_h / 2 + 1)}" {FONT} text-anchor="end" '
                    f'dominant-baseline="middle">{escape(lane_label(lane))}</text>')
    for lane, a, b, color, tip in spans:
        y = y0 + lane * lane_h
        body.append(f'<rect class="data" x="{_f(sx(a))}" y="{y + 6}" width="{_f(max(sx(b) - sx(a), 0.6))}" '
                    f'height="{lane_h - 10}" fill="{color}"><title>{escape(tip)}</title></rect>')
    for lane, x, color, tip in marks:
        y = y0 + lane * lane_h
        xx = _f(sx(x))
        body.append(f'<path class="data" d="M{xx},{y + 5} l-3,-4 h6 z" fill="{color}">'
                    f'<title>{escape(tip)}</title></path>')
    for x, color, label in vlines:
        xx = _f(sx(x))
        body.append(f'<line x1="{xx}" x2="{xx}" y1="{y0}" y2="{y0 + h}" stroke="{color}" '
                    f'stroke-width="2"><title>{escape(label)}</title></line>'
                    f'<text x="{xx}" y="{y0 + h + 26}" {FONT} fill="{color}" '
                    f'text-anchor="{"start" if x < x_max / 3 else "end" if x > 2 * x_max / 3 else "middle"}">'
                    f'{escape(label[:40])}</text>')
    for t in nice_ticks(0, x_max or 1, 6):
        if t <= (x_max or 1):
            body.append(f'<text x="{_f(sx(t))}" y="{y0 + h + 13}" {FONT} text-anchor="middle">{_num(t)}</text>')
    body.append(f'<text x="{x0 + w}" y="{y0 + h + 26}" {FONT} text-anchor="end" fill="#555">'
                f'{escape(x_label)}</text>')
    lx = x0 + w + 12
    for i, (label, color) in enumerate(legend):
        body.append(f'<rect x="{lx}" y="{y0 + i * 15}" width="12" height="10" fill="{color}"/>'
                    f'<text x="{lx + 16}" y="{y0 + i * 15 + 5}" {FONT} dominant-baseline="middle">'
                    f'{escape(label)}</text>')
    return _frame(name, title, width, max(y0 + h + 36, y0 + 15 * len(legend) + 10), body)
