"""The ``b9`` Typer app and its global ``--debug`` option. Verbs register on it: the stack verbs
in ``main``, replay, dlq and users in ``commands``, other packages' through the ``b9.commands``
entry points (``main.load_plugins``)."""

from __future__ import annotations

import typer

# Plain click help (typer's rich panels print "<bool>" beside every flag, --help included).
app = typer.Typer(help="b9 creator-discovery pipeline", no_args_is_help=True, add_completion=False,
                  rich_markup_mode=None, pretty_exceptions_enable=False)
debug = {"on": False}


@app.callback()
def _options(on: bool = typer.Option(False, "--debug", help="show Python tracebacks on errors")) -> None:
    debug["on"] = on
