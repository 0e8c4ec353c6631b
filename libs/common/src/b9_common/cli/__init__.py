"""The b9 command line: typer and rich, b9-common's cli extra (a service runs without them)."""

try:
    import rich  # noqa: F401
    import typer  # noqa: F401
except ModuleNotFoundError as exc:
    from b9_common.extras import MissingExtra

    raise MissingExtra("cli", "the b9 command line", exc) from exc
