"""Accelerators and what they do: power by phase, memory, parallelism (issue 13)."""
