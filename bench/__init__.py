"""Benchmarks: speed and memory, measured side by side in one run on this machine."""
