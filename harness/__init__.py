"""mmstress harness: CPUs as processes, interrupts, schedulers, checkers, reports, CLI."""
