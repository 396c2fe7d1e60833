"""CLI conventions: --version, bare `mmstress` prints help (exit 0), help text without
reST markup, the JSON report's tool version, colour only for BUG:/WARNING: headers on a
terminal (never with NO_COLOR or TERM=dumb), --color=auto|always|never."""

import json
import os
import pty
import re
import subprocess
import sys
import tomllib

import pytest

import harness
from harness import cli
from harness.commands import COMMANDS
from harness.exits import EXIT_OK, EXIT_VIOLATIONS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUG = ["run", "bugs/double_free", "--seed", "0"]        # prints "BUG: KASAN: double-free in kfree"
ESC = "\x1b["


def _env(**over):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    env.update({"PYTHONPATH": ROOT, "TERM": "xterm-256color", **over})
    return env


def _mmstress(argv, **env):
    return subprocess.run([sys.executable, "-m", "harness", *argv], cwd=ROOT, env=_env(**env),
                          capture_output=True, text=True, timeout=120)


def _on_a_tty(argv, **env):
    """(exit code, stdout) of mmstress with its stdout on a pseudo-terminal."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "harness", *argv], cwd=ROOT, env=_env(**env),
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.DEVNULL)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:                    # EIO: the child closed its end
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return proc.wait(timeout=120), out.decode("utf-8", "replace")


def test_version_names_the_tool_and_the_kernel_it_models_and_exits_0():
    res = _mmstress(["--version"])
    assert res.returncode == EXIT_OK
    assert res.stdout == f"mmstress {harness.__version__} (model: Linux 6.12)\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+", harness.__version__)


def test_the_version_is_written_once_and_pyproject_reads_it():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "harness.__version__"}


def test_the_json_report_carries_the_tool_version(tmp_path):
    js = tmp_path / "r.json"
    assert cli.main(["run", "--ops", "20", "--seed", "1", "--quiet", "--json", str(js)]) == EXIT_OK
    doc = json.loads(js.read_text())
    assert doc["tool"] == "mmstress" and doc["version"] == harness.__version__


def test_bare_mmstress_prints_the_help_and_exits_0():
    res = _mmstress([])
    assert res.returncode == EXIT_OK and res.stderr == ""
    assert res.stdout.startswith("usage: mmstress") and "exit codes:" in res.stdout
    assert all(name in res.stdout for name in COMMANDS)


def test_an_unknown_command_is_still_bad_usage():
    res = _mmstress(["frobnicate"])
    assert res.returncode == 2 and "invalid choice" in res.stderr


@pytest.mark.parametrize("argv", [[]] + [[name] for name in COMMANDS])
def test_help_text_is_plain_without_rest_markup(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv + ["--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and out.startswith("usage: mmstress")
    assert "``" not in out and not re.search(r":[a-z]+:`", out), out


def test_plain_strips_double_backticks_and_roles_only():
    assert cli.plain("``k.send`` and :func:`kmalloc` or :py:class:`Scenario`; `mmstress list`") \
        == "k.send and kmalloc or Scenario; `mmstress list`"


def test_bug_header_is_coloured_on_a_terminal_and_nothing_else_is():
    code, out = _on_a_tty(BUG)
    assert code == EXIT_VIOLATIONS
    coloured = [ln for ln in out.splitlines() if ESC in ln]
    assert coloured == ["\x1b[1;31mBUG: KASAN: double-free in kfree\x1b[0m"]


@pytest.mark.parametrize("env, argv", [
    ({"NO_COLOR": "1"}, []),                 # https://no-color.org
    ({"TERM": "dumb"}, []),
    ({}, ["--color=never"]),
])
def test_no_colour_on_a_terminal_with_no_color_term_dumb_or_never(env, argv):
    code, out = _on_a_tty(argv + BUG, **env)
    assert code == EXIT_VIOLATIONS and "BUG: KASAN: double-free in kfree" in out
    assert ESC not in out


def test_no_colour_into_a_pipe_unless_always():
    plain_run = _mmstress(BUG)
    assert plain_run.returncode == EXIT_VIOLATIONS and "BUG: KASAN" in plain_run.stdout
    assert ESC not in plain_run.stdout
    forced = _mmstress(BUG + ["--color=always"], NO_COLOR="1")   # the flag overrides NO_COLOR
    assert "\x1b[1;31mBUG: KASAN: double-free in kfree\x1b[0m\n" in forced.stdout


def test_warning_headers_are_coloured_too(capsys):
    assert cli.main(["--color=always", "run", "bugs/lock_abba", "--seed", "1", "--sched", "random",
                     "--ops", "200"]) == EXIT_VIOLATIONS
    out = capsys.readouterr().out
    assert "\x1b[1;33mWARNING: possible circular locking dependency detected\x1b[0m" in out
