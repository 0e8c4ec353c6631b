"""Pure rules of b9_common.ops.requests: dedup keys, staleness, the attempt a scope marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from b9_common.events import ScrapeAttempted
from b9_common.ops.requests import STALE_AFTER, dedup_key, failure_fields, is_active, note, scope


def test_dedup_keys_are_valid_kv_keys_and_case_insensitive() -> None:
    assert dedup_key("subreddit", "Pics") == dedup_key("subreddit", "pics") == "k.subreddit.pics"
    odd = dedup_key("creator", "a.b..c")  # dots would make empty tokens: hashed
    assert odd.startswith("k.creator.h") and odd.count(".") == 2
    assert dedup_key("categorize", "subreddit:ab12") != dedup_key("categorize", "creator:ab12")


def test_a_request_that_has_not_moved_for_a_while_no_longer_dedups() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    fresh = (now - timedelta(seconds=STALE_AFTER - 5)).isoformat()
    stale = (now - timedelta(seconds=STALE_AFTER + 5)).isoformat()
    assert is_active({"status": "queued", "updated_at": fresh}, now)
    assert is_active({"status": "running", "updated_at": fresh}, now)
    assert not is_active({"status": "queued", "updated_at": stale}, now)
    assert not is_active({"status": "done", "updated_at": fresh}, now)
    assert not is_active({"status": "failed", "updated_at": fresh}, now)


def test_only_the_attempt_of_the_requested_target_carries_the_request() -> None:
    def attempt(kind: str, target: str) -> ScrapeAttempted:
        return ScrapeAttempted(scraper="reddit", target_kind=kind, target=target, outcome="failed",  # type: ignore[arg-type]
                               reason="connection", message="refused")

    own, author, other = attempt("subreddit", "Pics"), attempt("user", "pics"), attempt("subreddit", "cats")
    with scope("R1", "subreddit", "pics") as s:
        for a in (author, own, other):
            note(a)
    note(attempt("subreddit", "pics"))  # outside the scope: untouched
    assert (own.request_id, author.request_id, other.request_id) == ("R1", None, None)
    assert s.attempt is own
    assert failure_fields(own, "x") == {"reason": "connection", "message": "refused", "http_status": None}
    assert failure_fields(None, "failed")["reason"] == "failed"
