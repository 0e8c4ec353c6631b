"""Extra commands (replay, dlq, seed) register themselves on the app here."""

from __future__ import annotations

from b9_common.cli.dlq_cmd import dlq_app
from b9_common.cli.main import app
from b9_common.cli.replay_cmd import replay_command
from b9_common.cli.seed_cmd import seed_command

app.command("replay")(replay_command)
app.command("seed")(seed_command)
app.add_typer(dlq_app, name="dlq")
