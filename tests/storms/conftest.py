"""Upstream storms: the service developers' fake upstreams, imported (not copied) from their
test directories, under a mix of faults their own tests exercise one at a time."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
for sub in ("reddit_scraper", "instagram_scraper", "categorizer"):
    path = str(TESTS / sub)
    if path not in sys.path:
        sys.path.append(path)
