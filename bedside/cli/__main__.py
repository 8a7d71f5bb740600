"""`python -m bedside.cli`: the same as the `bedside` command."""

from __future__ import annotations

import sys

from bedside.cli.main import main

sys.exit(main())
