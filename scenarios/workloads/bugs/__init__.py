"""Workload modules of the planted-bug catalogue (scenarios/bugs/): one per scenario, a bug or its correct twin."""
