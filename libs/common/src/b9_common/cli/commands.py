"""Extra commands (replay, dlq, seed, users) register themselves on the app here."""

from __future__ import annotations

from b9_common.cli.app import app
from b9_common.cli.dlq_cmd import dlq_app
from b9_common.cli.replay_cmd import replay_command
from b9_common.cli.seed_cmd import seed_command
from b9_common.cli.users_cmd import users_app

app.command("replay")(replay_command)
app.command("seed")(seed_command)
app.add_typer(dlq_app, name="dlq")
app.add_typer(users_app, name="users")
