"""Generate infra/nats/auth.conf: one NATS user per b9 service, least-privilege permissions.

The users, roles and permissions live in libs/common (``b9_common.jetstream.auth``): the same
source renders the embedded nats-server's accounts in ``make run``. Passwords are never
written here: nats-server resolves ``$NATS_<USER>_PASSWORD`` from the environment
(env/stack.env). Run ``python infra/nats/gen_auth.py`` after changing ROLES or the catalogue;
tests/cluster checks that the committed file is up to date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from b9_common.jetstream.auth import ACCOUNT, ROLES, Role, password_var, permissions, render

__all__ = ["ACCOUNT", "ROLES", "Role", "password_var", "permissions", "render"]
HERE = Path(__file__).resolve().parent
OUT = HERE / "auth.conf"


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        current = OUT.read_text() if OUT.exists() else ""
        if current != text:
            sys.stderr.write(
                "infra/nats/auth.conf is out of date: run python infra/nats/gen_auth.py\n"
            )
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
