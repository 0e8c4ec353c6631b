"""Persistence's batch handler without SQL: what it refuses before writing, what it leaves,
and an unreachable database (a pool that cannot connect) retrying the whole batch."""

from __future__ import annotations

from datetime import UTC, datetime

from b9_common.events import MediaRequested, PostsFetched, RedditPost, SubredditFetched
from b9_common.events.commands import MediaItem
from b9_common.jetstream.delivery import Delivery
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.testing import run_batch
from b9_persistence.handler import Persistence, retry_delay

SPEC = ConsumerSpec(name="persistence", stream="SCRAPE", subjects=(), max_deliver=100)


class Unreachable:
    """An asyncpg pool whose server refuses connections."""

    def __init__(self) -> None:
        self.asked = 0

    async def acquire(self) -> object:
        self.asked += 1
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    async def release(self, conn: object) -> None:
        raise AssertionError("nothing was acquired")


def post(reddit_id: str, subreddit: str = "pics") -> RedditPost:
    return RedditPost(reddit_id=reddit_id, subreddit=subreddit, title="t", author="ann",
                      created_utc=datetime(2024, 5, 1, tzinfo=UTC))


async def test_facts_failing_a_check_go_to_dlq_before_any_write() -> None:
    pool = Unreachable()
    persistence = Persistence(pool)  # type: ignore[arg-type]
    odd_review = SubredditFetched(name="pics", suggested_review="Maybe")
    bad_post = PostsFetched(subreddit="pics", posts=[post("ok1"), post("bad id!")])
    outs = await run_batch(persistence.handle, [odd_review, bad_post], spec=SPEC)
    assert [o.outcome for o in outs] == ["dlq", "dlq"]
    assert outs[0].reason.startswith("suggested_review 'Maybe' is not one of")
    assert outs[1].reason == "post 'bad id!': invalid post id 'bad id!'"
    assert pool.asked == 0 and persistence.rejected == 2


async def test_commands_are_left_to_their_services() -> None:
    persistence = Persistence(Unreachable())  # type: ignore[arg-type]
    cmd = MediaRequested(items=[MediaItem(url="https://cdninstagram.com/a.jpg", source_id="a")])
    [out] = await run_batch(persistence.handle, [cmd], spec=SPEC)
    assert (out.outcome, out.reason) == ("skip", "not persisted")


async def test_an_unreachable_database_retries_the_batch_with_a_short_growing_delay() -> None:
    persistence = Persistence(Unreachable())  # type: ignore[arg-type]
    batch = [SubredditFetched(name="pics"), SubredditFetched(name="aww"),
             SubredditFetched(name="Maybe", suggested_review="x")]
    for n in (1, 3, 9):
        outs = await run_batch(persistence.handle, batch, spec=SPEC, num_delivered=n)
        assert [o.outcome for o in outs] == ["retry", "retry", "dlq"]
        assert outs[0].delay == retry_delay(n) == min(5.0, 0.5 * 2 ** (n - 1))
        assert outs[0].reason.startswith("database unavailable: DatabaseUnavailable: ConnectionRefusedError")
    assert persistence.status()["db_errors"] == 3


async def test_decisions_wait_for_the_database_too() -> None:
    from b9_common.events import Actor, SubredditReviewed

    persistence = Persistence(Unreachable())  # type: ignore[arg-type]
    review = SubredditReviewed(name="pics", review="Ok", actor=Actor(id="a", name="ann", role="reviewer",
                                                                     channel="api"))
    seen: list[Delivery] = []

    async def handle(ds: list[Delivery]) -> None:
        seen.extend(ds)
        await persistence.handle(ds)

    [out] = await run_batch(handle, [review], spec=SPEC)
    assert out.outcome == "retry" and seen[0].type == "subreddit.reviewed"
