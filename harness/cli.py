"""The ``mmstress`` command line: the parser, built from the command modules, and ``main``.

    mmstress run [SCENARIO ...]      run scenarios (default: smoke)
    mmstress list | demo | sweep | replay | minimize | explain | bench
    mmstress --version | --help      (bare ``mmstress`` prints the help, exit 0)

Each subcommand is a module of ``harness/commands/`` listed in
``harness.commands.COMMANDS`` (its options, its ``main(args)``).  Exit codes
and ``UsageError`` are ``harness.exits``.  Bad input is one clear message on
stderr, never a traceback.  Help text is the modules' docstrings made plain
(``plain``: no reST markup); ``--color`` is harness/commands/_colour.py.
"""

import argparse
import importlib
import re
import sys

from kernel_model import LINUX_VERSION, ModelError

import harness
from harness.commands import _colour
from harness.exits import EXIT_HELP, EXIT_OK, EXIT_SIGINT, EXIT_USAGE, UsageError, printable

DESCRIPTION = (f"A multi-process allocator stress harness over an executable model of the Linux "
               f"{LINUX_VERSION} memory manager.  `mmstress COMMAND --help` for a command's options.")
VERSION = f"mmstress {harness.__version__} (model: Linux {LINUX_VERSION})"
_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`([^`]*)`")       # :func:`x`, :py:class:`x` -> x


def plain(text):
    """Help text without reST markup: ``x`` and :role:`x` become x."""
    return _ROLE.sub(r"\1", text).replace("``", "") if text else text


def command_modules():
    """[(name, module)] of ``harness.commands.COMMANDS``, in help order."""
    from harness.commands import COMMANDS
    return [(name, importlib.import_module(f"harness.commands.{name}")) for name in COMMANDS]


def build_parser():
    parser = argparse.ArgumentParser(prog="mmstress", description=DESCRIPTION,
                                     epilog=EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=VERSION)
    _colour_option(parser, "auto")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in command_modules():
        p = sub.add_parser(name, help=plain(module.HELP), description=plain(module.__doc__),
                           epilog=plain(getattr(module, "EPILOG", EXIT_HELP)),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.arguments(p)
        _colour_option(p, argparse.SUPPRESS)      # after the command too; the top one's default
        for action in p._actions:
            action.help = plain(action.help)
        p.set_defaults(func=module.main)
    return parser


def _colour_option(p, default):
    p.add_argument("--color", choices=_colour.MODES, default=default,
                   help="colour the BUG:/WARNING: header lines: auto (default: on a terminal, "
                   "unless NO_COLOR is set or TERM=dumb), always, never")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.command is None:                      # bare `mmstress`: what can I do here?
        parser.print_help()
        return EXIT_OK
    stdout = sys.stdout
    if _colour.wanted(args.color, stdout):
        sys.stdout = _colour.HeaderColour(stdout)
    try:
        return args.func(args)
    except (UsageError, ModelError) as exc:
        print(f"mmstress: {printable(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mmstress: interrupted", file=sys.stderr)
        return EXIT_SIGINT
    finally:
        if sys.stdout is not stdout:
            sys.stdout.flush()
            sys.stdout = stdout


if __name__ == "__main__":
    raise SystemExit(main())
