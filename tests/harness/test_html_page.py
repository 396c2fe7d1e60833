"""harness/outputs/html_report.py and ``mmstress report``: the page of a run and of a sweep, from JSON."""

import json
import re

from harness.cli import main
from harness.exits import EXIT_OK, EXIT_USAGE
from harness.outputs import html_report
from harness.scheduler.base import KIND_CODE
from harness.scheduler.trace import Trace

EVIL = '<script>alert("x")</script>'
RUN_PLOTS = ("zone-Normal", "buddy-Normal", "extfrag-Normal", "slab-fastpath", "slab-fastpath-time",
             "lock-contention", "lock-contention-time", "cpu-activity")


def samples(n=5, cache="kmalloc-64"):
    t = [i * 50 for i in range(n)]
    return {"clock": "ms", "interval": 50, "t": t,
            "zones": [{"name": "Normal", "free": [1000 - 10 * i for i in range(n)], "min": [20] * n,
                       "low": [25] * n, "high": [30] * n,
                       "nr_free": [[50 + 10 * i for i in range(n)]] + [[0] * n for _ in range(10)]}],
            "caches": [{"name": cache, "alloc_fastpath": [9 * i for i in range(n)],
                        "alloc_slowpath": [i for i in range(n)]}],
            "locks": [{"name": "&zone->lock[Normal]", "acquired": [5 * i for i in range(n)],
                       "contended": [i for i in range(n)]}],
            "cpus": [{"cpu": c, "calls": {"process": [10 * i for i in range(n)], "hardirq": [0] * n,
                                          "softirq": [i for i in range(n)], "tasklet": [0] * n},
                      "irqs": [i for i in range(n)]} for c in range(2)]}


def run_obj(scenario="double_free", status="violations", with_samples=True, seed=0, step=3):
    v = {"kind": "double-free", "key": "double-free @ x.py:3", "title": "BUG: KASAN: double-free in kfree",
         "cpu": 1, "context": "process", "site": "x.py:3 (process)", "count": 2, "step": step,
         "message": EVIL}
    return {"scenario": scenario, "source": "bugs/x.toml", "description": EVIL, "seed": seed, "cpus": 2,
            "allocator": "slub", "status": status, "exit_code": 1 if status == "violations" else 0,
            "elapsed": 0.1, "violations": [v] if status == "violations" else [], "failures": [],
            "invariants": [], "proc": {}, "reproduce": f"mmstress run {scenario} --seed {seed}",
            "samples": samples() if with_samples else None}


def run_doc(**kw):
    return {"schema_version": 2, "tool": "mmstress", "version": "0.1", "command": "mmstress run x",
            "seed": 0, "exit_code": 1, "interrupted": None, "runs": [run_obj(**kw)]}


def plots(page):
    """{data-plot name: number of data marks in it}."""
    out = {}
    for m in re.finditer(r'<svg class="plot" data-plot="([^"]+)".*?</svg>', page, re.S):
        out[m.group(1)] = m.group(0).count('class="data"')
    return out


def test_a_run_page_has_every_plot_with_data_and_the_splat():
    page = html_report.page(run_doc(), {0: [(0, KIND_CODE["alloc"]), (1, KIND_CODE["irq"]),
                                            (1, KIND_CODE["free"]), (0, KIND_CODE["lock"])]})
    got = plots(page)
    for name in RUN_PLOTS + ("timeline",):
        assert got.get(name, 0) > 0, name
    assert "<details" in page and "BUG: KASAN: double-free in kfree" in page
    assert "double-free at step 3 on CPU 1" in page          # the violation on the timeline
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_user_text_is_escaped():
    doc = run_doc(scenario=EVIL)
    doc["runs"][0]["samples"]["caches"][0]["name"] = "<b>cache"
    page = html_report.page(doc)
    assert EVIL not in page and "<b>cache" not in page
    assert "&lt;script&gt;" in page and "&lt;b&gt;cache" in page


def test_a_report_without_samples_says_so_and_draws_no_plot():
    page = html_report.page(run_doc(with_samples=False))
    assert "no samples over time" in page
    assert plots(page) == {}


def test_a_clean_run_has_no_splat_and_no_timeline_without_a_trace():
    page = html_report.page(run_doc(status="passed"))
    assert 'class="bug"' not in page and "timeline" not in plots(page)
    assert set(RUN_PLOTS) <= set(plots(page))


def test_the_page_is_the_same_bytes_for_the_same_report():
    assert html_report.page(run_doc()) == html_report.page(run_doc())


def sweep_doc():
    runs = [run_obj(seed=s, status="violations" if s % 3 == 0 else "passed",
                    with_samples=s % 3 == 0) for s in range(10)]
    failing = [r for r in runs if r["status"] == "violations"]
    return {"schema_version": 2, "tool": "mmstress", "kind": "sweep", "version": "0.1",
            "command": "mmstress sweep x", "exit_code": 1, "interrupted": None, "scenarios": ["x"],
            "seeds": "0-9", "jobs": 1, "elapsed": 1.0,
            "counts": {"planned": 10, "run": 10, "passed": 6, "violations": 4, "failed": 0},
            "groups": [{"key": "double-free @ x.py:3", "kind": "double-free",
                        "title": "BUG: KASAN: double-free in kfree", "site": "x.py:3 (process)",
                        "count": len(failing), "sites": {"x.py:3 (process)": len(failing)},
                        "runs": [{"scenario": r["scenario"], "seed": r["seed"], "site": "x.py:3",
                                  "reproduce": r["reproduce"]} for r in failing]}],
            "runs": runs}


def test_a_sweep_page_groups_failures_by_bug_with_counts_and_seeds():
    page = html_report.page(sweep_doc())
    got = plots(page)
    assert got["sweep-seeds"] == 10 and got["sweep-groups"] == 1
    assert "0, 3, 6, 9" in page                               # the group's seeds
    assert "BUG: KASAN: double-free in kfree" in page
    assert got.get("zone-Normal", 0) > 0                       # the first failing run's plots


def test_a_sweep_without_failures_says_so():
    doc = sweep_doc()
    doc["groups"], doc["runs"] = [], [run_obj(seed=1, status="passed", with_samples=False)]
    page = html_report.page(doc)
    assert "No run failed" in page and "sweep-groups" not in plots(page)


def test_report_command_writes_the_page(tmp_path, capsys):
    js, out = tmp_path / "r.json", tmp_path / "r.html"
    js.write_text(json.dumps(run_doc()))
    assert main(["report", str(js), "--html", str(out)]) == EXIT_OK
    assert set(RUN_PLOTS) <= set(plots(out.read_text()))


def _trace(scenario, seed, steps):
    """A trace with a whole format-3 header (traces are validated when read)."""
    from harness.scheduler.trace import FORMAT
    return Trace({"format": FORMAT, "scenario": scenario, "source": f"bugs/{scenario}",
                  "scenario_hash": "0" * 64, "scenario_text": "", "workloads": {}, "seed": seed,
                  "strategy": "random", "options": {}, "cpus": 2, "steps": len(steps)}, steps)


def test_report_command_draws_the_trace_given(tmp_path, capsys):
    js, out, tr = tmp_path / "r.json", tmp_path / "r.html", tmp_path / "t.mmtrace"
    js.write_text(json.dumps(run_doc()))
    _trace("double_free", 0, [(0, 1), (1, 2)] * 10).save(tr)
    assert main(["report", str(js), "--html", str(out), "--trace", str(tr)]) == EXIT_OK
    assert plots(out.read_text())["timeline"] > 0


def test_report_command_refuses_bad_input_naming_the_file(tmp_path, capsys):
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": 1}')
    assert main(["report", str(bad), "--html", str(tmp_path / "x.html")]) == EXIT_USAGE
    assert "notes.json: not an mmstress report" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing.json")]) == EXIT_USAGE
    assert "missing.json: cannot read" in capsys.readouterr().err
    garbage = tmp_path / "g.json"
    garbage.write_text("{nope")
    assert main(["report", str(garbage)]) == EXIT_USAGE
    assert "g.json: not a JSON report" in capsys.readouterr().err


def test_report_command_refuses_a_trace_of_another_run(tmp_path, capsys):
    js, tr = tmp_path / "r.json", tmp_path / "t.mmtrace"
    js.write_text(json.dumps(run_doc()))
    _trace("leak", 4, [(0, 1)]).save(tr)
    code = main(["report", str(js), "--html", str(tmp_path / "x.html"), "--trace", str(tr)])
    assert code == EXIT_USAGE
    assert "a trace of leak seed 4" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_report_command_refuses_a_report_it_cannot_draw(tmp_path, capsys):
    doc = run_doc()
    doc["runs"][0]["samples"]["zones"] = "nonsense"
    js = tmp_path / "r.json"
    js.write_text(json.dumps(doc))
    assert main(["report", str(js), "--html", str(tmp_path / "x.html")]) == EXIT_USAGE
    assert "r.json: a report this mmstress cannot draw" in capsys.readouterr().err


def test_report_command_without_html_prints_the_summary_again(tmp_path, capsys):
    js = tmp_path / "r.json"
    doc = run_doc(status="passed")
    doc["runs"][0].update(ops={"total": 1, "per_second": 1.0, "by_context": {c: 0 for c in CTXS},
                               "by_cpu": []},
                          interrupts={k: 0 for k in IRQ_KEYS} | {"by_cpu": []},
                          mailbox={"sent": 0, "full": 0, "received": 0}, locks=[], slab=None,
                          irq_mask="lazy")
    js.write_text(json.dumps(doc))
    assert main(["report", str(js)]) == EXIT_OK
    assert "== double_free: passed" in capsys.readouterr().out


def test_report_command_refuses_a_trace_for_a_sweep(tmp_path, capsys):
    js = tmp_path / "s.json"
    js.write_text(json.dumps(sweep_doc()))
    code = main(["report", str(js), "--html", str(tmp_path / "x.html"), "--trace", str(tmp_path / "t")])
    assert code == EXIT_USAGE
    assert "not of a sweep" in capsys.readouterr().err


CTXS = ("process", "hardirq", "softirq", "tasklet")
IRQ_KEYS = ("raised", "delivered", "in_model_code", "deferred", "coalesced", "in_softirq", "softirqs",
            "tasklets", "ksoftirqd_wakeups")


def test_a_long_trace_is_drawn_in_a_bounded_number_of_marks():
    from harness.outputs.html_timeline import BUCKETS, timeline_svg
    steps = [(i % 3, KIND_CODE["alloc"] if i % 7 else KIND_CODE["irq"]) for i in range(200_000)]
    svg_text = timeline_svg(steps, 3, [{"kind": "leak", "step": 150_000, "cpu": 2}])
    marks = svg_text.count('class="data"')
    assert 3 <= marks <= 2 * 3 * BUCKETS                     # bars and hardirq ticks, per slice at most
    assert "leak at step 150000 on CPU 2" in svg_text
    assert ">CPU 2<" in svg_text


def test_an_empty_trace_draws_no_timeline():
    from harness.outputs.html_timeline import timeline_svg
    assert timeline_svg([], 2) is None


def test_ticks_are_round_numbers_covering_the_range():
    from harness.outputs.html_svg import nice_ticks
    assert nice_ticks(0, 1000) == [0, 200, 400, 600, 800, 1000]
    assert nice_ticks(-1.05, 1.05) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert nice_ticks(5, 5) == [5, 5.2, 5.4, 5.6, 5.8, 6]
