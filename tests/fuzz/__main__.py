"""The long fuzz run: ``python -m tests.fuzz --inputs 1000000`` (README, "Fuzzing").

Each registered driver is fuzzed in its own process (so its peak RSS is its own) by a seeded,
deterministic mutation loop over valid streams (``tests.fuzz.corpus``), with random chunking and
one driver instance kept across inputs the way a serial link keeps it (a fresh one every
``--reset`` inputs). Printed per driver: inputs, inputs/s, escapes, the most state held between
feeds, and peak RSS. Exit status 1 when anything escaped or a driver's state passed its cap.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

from tests.fuzz.corpus import fuzzed_protocols, seeds_for
from tests.fuzz.harness import (
    STATE_CAP_BYTES,
    Escape,
    Mutator,
    feed,
    fresh_driver,
    observation_problems,
    retained_bytes,
)


@dataclass
class Figures:
    """One driver's run."""

    protocol: str
    inputs: int
    bytes_fed: int
    seconds: float
    escapes: int
    shape_errors: int
    peak_state_bytes: int
    peak_rss_mib: float
    first_escapes: list[str]

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0


def fuzz_one(protocol: str, inputs: int, seed: int, reset: int, state_every: int) -> Figures:
    """Run ``inputs`` mutated inputs through ``protocol``'s driver."""
    logging.disable(logging.CRITICAL)  # a rejected frame logs; a million of them would measure the log
    mutator = Mutator(seeds_for(protocol), random.Random(f"{seed}:{protocol}"))
    driver = fresh_driver(protocol)
    escapes = shape_errors = peak_state = fed = 0
    first: list[str] = []
    started = time.perf_counter()
    for n in range(inputs):
        if n % reset == 0 and n:
            driver = fresh_driver(protocol)
        data = mutator.input()
        fed += len(data)
        result = feed(driver, data, mutator.cuts(len(data)))
        if isinstance(result, Escape):
            escapes += 1
            if len(first) < 5:
                first.append(result.describe())
            driver = fresh_driver(protocol)  # its state is unknown after a raise
            continue
        if observation_problems(result.observations, protocol):
            shape_errors += 1
        if n % state_every == 0:
            peak_state = max(peak_state, retained_bytes(driver))
    seconds = time.perf_counter() - started
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return Figures(protocol, inputs, fed, seconds, escapes, shape_errors, peak_state, peak_rss, first)


def main(argv: list[str] | None = None) -> int:
    """Fuzz every registered driver (or those named) and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1_000_000, help="inputs per driver (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1, help="mutation seed; the same seed repeats the run")
    parser.add_argument("--protocol", action="append", help="fuzz only this protocol (repeatable)")
    parser.add_argument("--reset", type=int, default=5000, help="a fresh driver every N inputs")
    parser.add_argument("--state-every", type=int, default=97, help="measure held state every N inputs")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process for one protocol
    args = parser.parse_args(argv)
    if args.one:
        figures = fuzz_one(args.one, args.inputs, args.seed, args.reset, args.state_every)
        print(json.dumps(asdict(figures)), flush=True)
        return 0
    protocols = args.protocol or fuzzed_protocols()
    print(f"fuzzing {', '.join(protocols)}: {args.inputs:,} inputs each, seed {args.seed}", flush=True)
    print(
        f"{'driver':<20}{'inputs':>11}{'inputs/s':>10}{'escapes':>9}{'shape':>7}{'state B':>9}{'RSS MiB':>9}"
    )
    failed = False
    for protocol in protocols:
        child = [sys.executable, "-m", "tests.fuzz", "--one", protocol, "--inputs", str(args.inputs)]
        child += [
            "--seed",
            str(args.seed),
            "--reset",
            str(args.reset),
            "--state-every",
            str(args.state_every),
        ]
        done = subprocess.run(child, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"{protocol:<20} the fuzz process died ({done.returncode}): {done.stderr.strip()[-400:]}")
            failed = True
            continue
        f = Figures(**json.loads(done.stdout.strip().splitlines()[-1]))
        print(
            f"{protocol:<20}{f.inputs:>11,}{f.rate:>10,.0f}{f.escapes:>9}{f.shape_errors:>7}"
            f"{f.peak_state_bytes:>9,}{f.peak_rss_mib:>9.1f}",
            flush=True,
        )
        for line in f.first_escapes:
            print(f"  escape: {line}")
        failed |= bool(f.escapes or f.shape_errors or f.peak_state_bytes > STATE_CAP_BYTES)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
