"""``mmstress explain``: every kind explained, the list grouped by family, unknown kinds a usage error."""

import subprocess
import sys

import pytest

from harness import cli, exits
from harness.checkers.kinds import KINDS


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_explain_each_kind(capsys, kind):
    code, out, err = run_cli(capsys, "explain", kind)
    assert code == 0 and not err
    k = KINDS[kind]
    assert out.startswith(kind) and k.header in out
    assert "What it means" in out and "How to fix it" in out and k.fix in out


def test_list_groups_every_kind_by_family(capsys):
    code, out, _ = run_cli(capsys, "explain")
    assert code == 0
    for k in KINDS.values():
        line = next(ln for ln in out.splitlines() if ln.split()[:1] == [k.name])
        assert k.header in line
    assert out.index("locks (lockdep):") < out.index("lock-circular") < out.index("per-CPU paths:")


def test_unknown_kind_is_a_usage_error_with_suggestions(capsys):
    code, out, err = run_cli(capsys, "explain", "lock-circuler")
    assert code == exits.EXIT_USAGE and not out
    assert "no violation kind 'lock-circuler'" in err and "did you mean lock-circular" in err
    assert "Traceback" not in err
    code, _, err = run_cli(capsys, "explain", "zzzz")
    assert code == exits.EXIT_USAGE and "did you mean" not in err and "mmstress explain" in err


def test_underscores_and_case_are_forgiven(capsys):
    code, out, _ = run_cli(capsys, "explain", "Sleep_In_Atomic")
    assert code == 0 and out.startswith("sleep-in-atomic")


def test_explain_from_the_command_line():
    p = subprocess.run([sys.executable, "-m", "harness", "explain", "percpu-irq-race"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "local_irq_save" in p.stdout
    p = subprocess.run([sys.executable, "-m", "harness", "explain", "nope-nope"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "Traceback" not in p.stderr
