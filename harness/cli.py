"""The ``mmstress`` command line: the parser, built from the command modules, and ``main``.

    mmstress run [SCENARIO ...]      run scenarios (default: smoke)
    mmstress list | demo | sweep | replay | minimize | explain | bench

Each subcommand is a module of ``harness/commands/`` listed in
``harness.commands.COMMANDS`` (its options, its ``main(args)``).  Exit codes
and ``UsageError`` are ``harness.exits``.  Bad input is one clear message on
stderr, never a traceback.
"""

import argparse
import importlib
import sys

from kernel_model import ModelError

from harness.exits import EXIT_HELP, EXIT_SIGINT, EXIT_USAGE, UsageError, printable


def command_modules():
    """[(name, module)] of ``harness.commands.COMMANDS``, in help order."""
    from harness.commands import COMMANDS
    return [(name, importlib.import_module(f"harness.commands.{name}")) for name in COMMANDS]


def build_parser():
    parser = argparse.ArgumentParser(prog="mmstress", description=__doc__.splitlines()[0],
                                     epilog=EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in command_modules():
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                           epilog=getattr(module, "EPILOG", EXIT_HELP),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.arguments(p)
        p.set_defaults(func=module.main)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.func(args)
    except (UsageError, ModelError) as exc:
        print(f"mmstress: {printable(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mmstress: interrupted", file=sys.stderr)
        return EXIT_SIGINT


if __name__ == "__main__":
    raise SystemExit(main())
