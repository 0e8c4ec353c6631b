"""What each service `b9 up` starts may see of its environment.

Every child gets `b9 up`'s environment minus the secrets that belong to other services
(``SECRETS``: a variable, or a prefix, and the services that may have it): the categorizer
alone gets ``OPENAI_*``, the scrapers their API credentials, alerts its webhook signing key,
the gateway its bootstrap key. The gateway, the one process that faces the network, therefore holds no OpenAI key and no
scraper credentials.

It holds no database writer either: with the embedded PostgreSQL, `b9 up` keeps a login role
``b9_reader`` that may only read the read model (``ensure_reader``, after the migrations) and
hands the gateway a URL for it. With an external database the gateway gets
``GATEWAY_DATABASE_URL`` when set (point it at a read-only role), else ``DATABASE_URL``.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg

SECRETS: dict[str, tuple[str, ...]] = {
    "OPENAI_": ("categorizer",),
    "REDDIT_CLIENT_ID": ("reddit-scraper",),
    "REDDIT_CLIENT_SECRET": ("reddit-scraper",),
    "INSTAGRAM_API_KEY": ("instagram-scraper",),
    "GATEWAY_API_KEY": ("gateway",),
    "ALERT_WEBHOOK_SECRET": ("alerts",),
    "GATEWAY_DATABASE_URL": (),  # becomes the gateway's DATABASE_URL
}
READER = "b9_reader"


def env_for(service: str, base: dict[str, str]) -> dict[str, str]:
    """``base`` without the variables only other services may have."""
    return {k: v for k, v in base.items()
            if all(service in owners for name, owners in SECRETS.items() if k.startswith(name))}


def reader_url(database_url: str) -> str:
    """``database_url`` with the ``b9_reader`` role (no password: the embedded server trusts
    local connections) instead of its user."""
    parts = urlsplit(database_url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{READER}:@{host}"))


async def ensure_reader(conn: asyncpg.Connection) -> None:
    """The read-only login role, with SELECT on every table now and later (idempotent)."""
    await conn.execute(f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER}') THEN
                CREATE ROLE {READER} LOGIN;
            END IF;
        END $$;
        GRANT CONNECT ON DATABASE "{await conn.fetchval("SELECT current_database()")}" TO {READER};
        GRANT USAGE ON SCHEMA public TO {READER};
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER};
        GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {READER};
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {READER};
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON SEQUENCES TO {READER};
    """)
