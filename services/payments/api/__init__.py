"""HTTP entrypoints of payments: parse, call the application, shape the answer. Nothing else."""
