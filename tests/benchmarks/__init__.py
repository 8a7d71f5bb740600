"""Benchmarks: speed and memory figures, run by `bash scripts/dev.sh bench`, not by pytest."""
