"""Extra commands (replay, dlq, users) register themselves on the app here; other packages add
theirs through the ``b9.commands`` entry points (``b9 rebuild``, ``b9 seed``: persistence)."""

from __future__ import annotations

from b9_common.cli.app import app
from b9_common.cli.dlq_cmd import dlq_app
from b9_common.cli.replay_cmd import replay_command
from b9_common.cli.users_cmd import users_app

app.command("replay")(replay_command)
app.add_typer(dlq_app, name="dlq")
app.add_typer(users_app, name="users")
