"""`python -m lowfreq ...`: see :mod:`lowfreq.cli` for the command groups."""
from __future__ import annotations

import sys

from lowfreq.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
