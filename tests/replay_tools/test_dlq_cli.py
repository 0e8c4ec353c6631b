"""A broken table sends 100 facts to DLQ; after the fix `b9 dlq retry --all` processes them all."""

from __future__ import annotations

import re

from b9_common.jetstream.dlq_admin import DlqAdmin
from b9_common.service import Runtime
from rt_helpers import cli, fetchval, live_persistence, psettings, publish, sub, until, user


async def test_dlq_list_show_retry_all_after_fix_then_purge(
        rt: Runtime, nats_url: str, namespace: str, database_url: str, cli_env: dict[str, str]) -> None:
    await fetchval(database_url, "ALTER TABLE subreddits ADD CONSTRAINT broken CHECK (subscribers < 0)")
    admin = DlqAdmin(rt.js, rt.topology)
    async with live_persistence(psettings(nats_url, namespace, database_url)):
        await publish(rt, [(f"s{i}", sub(f"s{i}", 100 + i), i) for i in range(100)]
                      + [(f"u{i}", user(f"u{i}"), i) for i in range(20)])

        async def dlq_full() -> bool:
            return await admin.depth() == 100

        await until(dlq_full, 30, "100 dead letters")
        assert await fetchval(database_url, "SELECT count(*) FROM reddit_users") == 20  # the rest flowed

        listed = await cli(cli_env, "dlq", "list", "--subject", "subreddit.fetched", "--limit", "200")
        assert listed.exit_code == 0, listed.output
        assert "100 shown, 100 in DLQ" in listed.output and "database refused" in listed.output
        first_id = int(re.search(r"│\s+(\d+)\s+│ subreddit\.fetched", listed.output).group(1))  # type: ignore[union-attr]
        none = await cli(cli_env, "dlq", "list", "--reason", "no such reason")
        assert "0 shown, 100 in DLQ" in none.output

        shown = await cli(cli_env, "dlq", "show", str(first_id))
        assert shown.exit_code == 0, shown.output
        for text in ("B9-Dlq-Reason", "broken", "persistence", "delivery history", '"name": "s', "subreddit.fetched"):
            assert text in shown.output, text
        missing = await cli(cli_env, "dlq", "show", "999999")
        assert missing.exit_code == 1

        await fetchval(database_url, "ALTER TABLE subreddits DROP CONSTRAINT broken")  # the fix
        retried = await cli(cli_env, "dlq", "retry", "--all")
        assert retried.exit_code == 0, retried.output
        assert "retried 100" in retried.output

        async def all_stored() -> bool:
            return await fetchval(database_url, "SELECT count(*) FROM subreddits") == 100

        await until(all_stored, 30, "100 subreddits stored")
        assert await admin.depth() == 0
        assert await fetchval(database_url, "SELECT sum(subscribers) FROM subreddits") == sum(100 + i
                                                                                             for i in range(100))

        # purge: break again, 3 more dead letters; refusing the prompt keeps them, --yes deletes
        await fetchval(database_url,
                       "ALTER TABLE subreddits ADD CONSTRAINT broken CHECK (subscribers < 0) NOT VALID")
        await publish(rt, [(f"x{i}", sub(f"x{i}"), i) for i in range(3)])

        async def three() -> bool:
            return await admin.depth() == 3

        await until(three, 30, "3 dead letters")
        kept = await cli(cli_env, "dlq", "purge", input="n\n")
        assert kept.exit_code != 0 and await admin.depth() == 3
        one = (await admin.scan(limit=1))[0]
        single = await cli(cli_env, "dlq", "retry", str(one.seq))
        assert single.exit_code == 0 and "retried" in single.output
        await until(three, 30, "the retried one failing again")  # still broken: back in DLQ
        purged = await cli(cli_env, "dlq", "purge", "--subject", "subreddit.*", "--yes")
        assert purged.exit_code == 0 and "purged 3" in purged.output
        assert await admin.depth() == 0
