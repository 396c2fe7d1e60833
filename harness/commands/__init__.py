"""The ``mmstress`` subcommands: one module each, registered below, one line each.

A command module ``harness/commands/NAME.py`` defines:

    HELP            one line for ``mmstress --help``
    EPILOG          (optional) text after the options; default: harness.exits.EXIT_HELP
    arguments(p)    add its options to the argparse parser ``p``
    main(args)      run it: ``args`` are the parsed options (``args.argv`` is the
                    command line as typed); returns an exit code of harness.exits;
                    bad input raises harness.exits.UsageError (exit 2)

and its module docstring is the command's ``--help`` description.  A command
parses and prints; the work is in the rooms below it (tools/, supervisor/,
outputs/, scenario/).  ``harness.cli`` builds the parser from ``COMMANDS``.
"""

COMMANDS = (              # in `mmstress --help` order
    "run",
    "list",
    "demo",
    "bench",
    "explain",
    "minimize",
    "replay",
    "sweep",
    "explore",
    "repro",
    "failures",
    "clean",
    "report",
)
