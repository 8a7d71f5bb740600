"""Run every benchmark and print its figures: `bash scripts/dev.sh bench`."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    failed = 0
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        module = importlib.import_module(f"tests.benchmarks.{info.name}")
        try:
            figures = module.run()
        except Exception as exc:
            print(f"{info.name}: FAILED: {exc}")
            failed += 1
            continue
        print(f"{info.name}: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
