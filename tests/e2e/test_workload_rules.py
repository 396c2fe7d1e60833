"""The context rules docs/workload_api.md states, shown by a run: softirq() runs only when
raised, k attributes set in setup are seen by process and teardown but not by hardirq,
k.send returns False once the 256-slot mailbox is full."""

import json

from harness.cli import main
from harness.exits import EXIT_OK
from harness.runtime.mailbox import SLOTS

WORKLOAD = f"""
RAISE_AT = 50

def setup(k):
    k.state = {{"iterations": 0}}
    sent = 0
    while k.send(k.cpu, 4096 + sent):          # the CPU's own mailbox, until full
        sent += 1
    assert sent == {SLOTS}, sent
    while k.recv() is not None:
        pass

def process(k):
    k.state["iterations"] += 1                 # the k of setup
    if k.state["iterations"] == RAISE_AT:
        k.raise_softirq()

def hardirq(k):
    assert not hasattr(k, "state"), "hardirq got the process-context k"
    k.this_cpu_inc("hardirqs")

def softirq(k):
    k.this_cpu_inc("softirq_runs")

def teardown(k):
    assert k.state["iterations"] == 200, k.state
"""


def test_workload_context_rules(tmp_path, monkeypatch):
    (tmp_path / "wl_rules.py").write_text(WORKLOAD)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "rules.toml"
    path.write_text('workload = "wl_rules"\nops = 200\ncpus = 2\n[memory]\nsize = "32M"\n'
                    '[interrupts]\nrate = 2000\n')
    out = tmp_path / "r.json"
    code = main(["run", str(path), "--seed", "3", "--quiet", "--json", str(out)])
    run = json.loads(out.read_text())["runs"][0]
    assert code == EXIT_OK, run["failures"]
    assert run["percpu"]["softirq_runs"] == [1, 1]             # raised once, run once, per CPU
    assert [c["contexts"]["softirq"]["calls"] for c in run["ops"]["by_cpu"]] == [1, 1]
