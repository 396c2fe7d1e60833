"""The CPU runtime: what runs inside one CPU process (contexts, interrupts, per-CPU data, mailboxes, the workload API, the checker hooks)."""
