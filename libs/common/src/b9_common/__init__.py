"""b9 shared runtime. Nothing here connects at import time."""

__version__ = "0.1.0"
