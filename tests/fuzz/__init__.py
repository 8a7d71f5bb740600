"""Fuzzing every registered driver's framer and parser (issue 11, "Faults and bad input").

``corpus`` builds valid seed streams per protocol (simulator encoders, real captures, the
reference vectors in /work/shared/reference), ``harness`` feeds any bytes through a driver in any
chunking and says whether anything escaped the driver boundary or its state grew, and
``python -m tests.fuzz`` is the long run (a deterministic, seeded mutation loop).
"""
