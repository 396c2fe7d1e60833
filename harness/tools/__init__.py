"""Tools built on runs: seed sweeps, the minimiser, the benchmark."""
