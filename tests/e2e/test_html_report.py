"""The HTML pictures in a real browser: a failing bugs/ run and a 10-seed sweep, rendered by
Debian's Chromium (headless, ``--dump-dom``); every plot must be in the rendered DOM with
data marks, and the browser must log no script error.

Skipped when no Chromium is installed, unless ``MMSTRESS_REQUIRE_BROWSER=1`` (CI sets it,
.ci/run installs the browser), so CI cannot skip it silently.  The mmstress commands run
as subprocesses, as a user types them.  Nothing here asserts timing.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BROWSER_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage",
                 "--enable-logging=stderr", "--v=0")
RUN_PLOTS = ("timeline", "zone-DMA32", "buddy-DMA32", "extfrag-DMA32", "slab-fastpath",
             "slab-fastpath-time", "lock-contention", "lock-contention-time", "cpu-activity")


def browser():
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if path is None:
        if os.environ.get("MMSTRESS_REQUIRE_BROWSER") == "1":
            pytest.fail("MMSTRESS_REQUIRE_BROWSER=1 but no chromium: apt-get install chromium")
        pytest.skip("no chromium (apt-get install chromium); CI requires it")
    return path


def mmstress(*argv, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "harness", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def render(page, tmp_path):
    """The DOM Chromium built from ``page``, and what it logged."""
    proc = subprocess.run([browser(), *BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--dump-dom", f"file://{page}"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


def rendered_plots(dom):
    """{data-plot: data marks} of every <svg class="plot"> in the rendered DOM."""
    out = {}
    for m in re.finditer(r'<svg[^>]*class="plot"[^>]*data-plot="([^"]+)"[^>]*>(.*?)</svg>', dom, re.S):
        out[m.group(1)] = m.group(2).count('class="data"')
    return out


def no_script_errors(log):
    bad = [line for line in log.splitlines() if "Uncaught" in line or "CONSOLE" in line]
    assert not bad, bad


def test_a_failing_run_renders_every_plot_and_report_redraws_it(tmp_path):
    page, js, tr = tmp_path / "run.html", tmp_path / "run.json", tmp_path / "run.mmtrace"
    res = mmstress("run", "bugs/double_free_cross_cpu", "--seed", "1", "--sched", "random",
                   "--ops", "150", "--quiet", "--html", str(page), "--json", str(js),
                   "--trace", str(tr), cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    dom, log = render(page, tmp_path)
    plots = rendered_plots(dom)
    for name in RUN_PLOTS:
        assert plots.get(name, 0) > 0, (name, sorted(plots))
    assert "BUG: KASAN: double-free in kfree" in dom and "<details" in dom
    no_script_errors(log)
    again = tmp_path / "again.html"                      # later, from the JSON and the trace it names
    res = mmstress("report", str(js), "--html", str(again), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert rendered_plots(again.read_text()) == rendered_plots(page.read_text())   # the same pictures


def test_a_ten_seed_sweep_renders_groups_and_seeds(tmp_path):
    page = tmp_path / "sweep.html"
    res = mmstress("sweep", "bugs/double_free", "bugs/leak_ok", "--seeds", "0-4", "--ops", "30",
                   "--quiet", "--html", str(page), cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    dom, log = render(page, tmp_path)
    plots = rendered_plots(dom)
    assert plots.get("sweep-seeds") == 10 and plots.get("sweep-groups") == 1, plots
    assert "0, 1, 2, 3, 4" in dom                        # the double free's seeds
    for name in ("zone-DMA32", "slab-fastpath", "lock-contention", "cpu-activity"):
        assert plots.get(name, 0) > 0, (name, sorted(plots))   # the first failing run's plots
    no_script_errors(log)
