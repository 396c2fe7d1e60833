"""The command registry: every harness/commands module is registered once and keeps the contract."""

import os
import pkgutil
import re

from harness import cli, commands


def test_every_command_module_is_registered_once():
    files = {m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")}
    assert len(commands.COMMANDS) == len(set(commands.COMMANDS))
    assert set(commands.COMMANDS) == files, "register each harness/commands/NAME.py in COMMANDS"


def test_each_command_has_help_arguments_main_and_a_docstring():
    for name, module in cli.command_modules():
        assert module.HELP and "\n" not in module.HELP, name
        assert callable(module.arguments) and callable(module.main), name
        assert module.__doc__ and f"mmstress {name}" in module.__doc__, name


def test_the_parser_offers_the_commands_in_registry_order(capsys):
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert list(sub.choices) == list(commands.COMMANDS)
    args = parser.parse_args(["run"])
    assert args.func is cli.command_modules()[0][1].main and args.scenario == []


def test_nothing_in_the_harness_calls_the_command_line():
    root = os.path.dirname(os.path.abspath(commands.__file__))
    harness_dir = os.path.dirname(root)
    callers = []
    for folder, _, files in os.walk(harness_dir):
        for f in files:
            path = os.path.join(folder, f)
            if f.endswith(".py") and path not in (cli.__file__,) and not f == "__main__.py":
                text = open(path, encoding="utf-8").read()
                if re.search(r"\bcli\.main\(|from harness\.cli import|from harness import .*\bcli\b|"
                             r"build_parser\(", text):
                    callers.append(os.path.relpath(path, harness_dir))
    assert callers == []
