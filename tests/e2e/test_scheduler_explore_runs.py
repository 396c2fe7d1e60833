"""The explorer over real runs: dfs finds lock_abba's deadlock and exhausts its
correct twin (resuming from a checkpoint), PCT's k is measured, the printed
commands reproduce, and auto-repro turns a parallel run's failure into one."""

import json
import shlex

import pytest

from harness import cli


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def reproduce_line(out):
    lines = [ln for ln in out.splitlines() if ln.startswith("reproduce: ")]
    assert lines, out
    return shlex.split(lines[-1][len("reproduce: "):])


def violation_kinds(report_path):
    with open(report_path) as f:
        return {v["kind"] for run in json.load(f)["runs"] for v in run["violations"]}


def test_dfs_finds_the_abba_deadlock_and_its_command_reproduces_it(capsys, tmp_path):
    code, out, err = run_cli(capsys, "explore", "bugs/lock_abba", "--strategy", "dfs", "--cpus", "2",
                             "--ops", "1", "--preemptions", "2", "--kind", "deadlock")
    assert code == 1, out + err
    assert "BUG: deadlock:" in out
    assert "this schedule has 1 preemptions" in out
    argv = reproduce_line(out)
    assert argv[:3] == ["mmstress", "run", "bugs/lock_abba"] and "--schedule" in argv
    report = tmp_path / "again.json"
    code, _, _ = run_cli(capsys, *argv[1:], "--json", str(report))
    assert code == 1 and "deadlock" in violation_kinds(report)


def test_dfs_exhausts_the_correct_twin_and_resumes_from_its_checkpoint(capsys, tmp_path):
    ck = str(tmp_path / "abba_ok.json")
    args = ("explore", "bugs/lock_abba_ok", "--strategy", "dfs", "--cpus", "2", "--ops", "1",
            "--preemptions", "1", "--checkpoint", ck)
    code, out, _ = run_cli(capsys, *args, "--runs", "10")
    assert code == 0 and "no violation in 10 executions" in out and "explored 10 of at least" in out
    code, out, err = run_cli(capsys, *args)
    assert code == 0, out + err
    assert "resuming" in err
    assert "exhausted: no violation within 1 preemptions: explored" in out
    n = int(out.split("explored ")[1].split(" of ")[0])
    assert f"explored {n} of {n} schedules" in out and n > 10
    code, _, err = run_cli(capsys, "explore", "bugs/lock_abba", "--strategy", "dfs", "--cpus", "2",
                           "--ops", "1", "--preemptions", "1", "--checkpoint", ck)
    assert code == 2 and "another search" in err


@pytest.mark.slow
def test_dfs_exhausts_the_correct_twin_within_two_preemptions(capsys):
    code, out, err = run_cli(capsys, "explore", "bugs/lock_abba_ok", "--strategy", "dfs", "--cpus",
                             "2", "--ops", "1", "--preemptions", "2", "--budget", "20m")
    assert code == 0, out + err
    assert "exhausted: no violation within 2 preemptions" in out


def test_pct_k_is_measured_from_real_runs():
    import dataclasses
    from harness import scenario
    from harness.scheduler import options as scheduling
    from harness.tools import explore
    sc = dataclasses.replace(scenario.resolve("bugs/lock_abba_ok"), ops=20, duration=None)
    ex = explore.make_explorer("pct", sc, 1)
    seen = []

    def execute(scen, execution):
        res = explore.run_execution(scen, execution)
        seen.append((execution.opts.steps, explore.live_steps(res.steps, scen.cpus), res.sched["steps"]))
        return res
    out = explore.explore(ex, runs=3, execute=execute)
    assert out.found is None and out.executions == 3
    guess = scheduling.guess_steps(sc)
    assert seen[0][0] == guess
    assert seen[1][0] == seen[0][1] and seen[2][0] == max(seen[0][1], seen[1][1])
    assert all(live <= steps < guess for _, live, steps in seen), \
        "the guess is past the end of the run; the measured k is not"


def test_explore_pos_prints_a_run_command_that_reproduces_the_violation(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "explore", "bugs/lock_abba", "--strategy", "pos", "--ops", "5",
                           "--kind", "deadlock", "--runs", "40")
    assert code == 1, out
    argv = reproduce_line(out)
    assert "--sched" in argv and argv[argv.index("--sched") + 1] == "pos"
    report = tmp_path / "pos.json"
    assert run_cli(capsys, *argv[1:], "--json", str(report))[0] == 1
    assert "deadlock" in violation_kinds(report)


def test_auto_repro_turns_a_parallel_failure_into_a_deterministic_command(capsys, tmp_path):
    report = tmp_path / "none.json"
    code, out, _ = run_cli(capsys, "run", "bugs/double_free_cross_cpu", "--seed", "1", "--json",
                           str(report), "--repro", "--repro-budget", "60s")
    assert code == 1
    assert "add --repro, or mmstress repro" in out
    doc = json.loads(report.read_text())
    target = doc["runs"][0]["violations"][0]
    assert doc["runs"][0]["sched"] is None
    argv = reproduce_line(out)
    assert "--seed" in argv and argv[argv.index("--seed") + 1] == "1", "the same op streams"
    again = tmp_path / "again.json"
    assert run_cli(capsys, *argv[1:], "--json", str(again))[0] == 1
    got = json.loads(again.read_text())["runs"][0]["violations"]
    assert any(v["kind"] == target["kind"] and v["site"] == target["site"] for v in got)
    code, out, _ = run_cli(capsys, "repro", str(report), "--budget", "60s")
    assert code == 0 and argv == reproduce_line(out)


def test_repro_refuses_what_it_cannot_use(capsys, tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    assert run_cli(capsys, "repro", str(bad))[0] == 2
    assert run_cli(capsys, "repro", str(tmp_path / "missing.json"))[0] == 2
    assert run_cli(capsys, "run", "bugs/lock_abba", "--sched", "random", "--repro")[0] == 2
    assert run_cli(capsys, "explore", "bugs/lock_abba", "--strategy", "pos", "--budget", "soon")[0] == 2
    assert run_cli(capsys, "explore", "bugs/lock_abba", "--strategy", "pct", "--switch-prob", "0.1")[0] == 2
