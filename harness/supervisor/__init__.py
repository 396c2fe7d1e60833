"""The run supervisor: boots the arena, forks the CPUs, watches them and collects the run."""
