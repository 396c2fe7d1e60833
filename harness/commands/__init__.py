"""Subcommands of ``mmstress`` beyond run/list/demo, one per module.

Each module defines ``register(sub)``: add a parser to the argparse
subparsers ``sub`` and ``set_defaults(func=...)``.  The function gets the
parsed args (``args.argv`` is the command line as typed) and returns an exit
code from ``harness.cli`` (EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE,
EXIT_HARNESS); bad input raises ``harness.cli.UsageError``.
"""
