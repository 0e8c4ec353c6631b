"""``after`` cursors: a row's sort value and key come back exactly (floats, microseconds,
NULL), for the list, sort and order they were made for only; anything else is a
``CursorError`` with a reason, never a value of the wrong type for the query."""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from b9_gateway import cursor
from b9_readmodel import creators, posts, subreddits, users
from b9_readmodel.sql import SortKey

SCORE = subreddits.order_key("score", "desc")
SUBSCRIBERS = subreddits.order_key("subscribers", "asc")
LAST_SCRAPED = users.order_key("last_scraped", "desc")
BY_NAME = users.order_key("username", "asc")
CREATOR_NAME = creators.order_key("username", "desc")
POSTS = posts.LIST_KEYS["recent"]


def forged(sk_name: str, value: Any, key: Any) -> str:
    """A cursor with a valid digest around any payload (the digest is a check, not a secret)."""
    payload = msgspec.json.encode([sk_name, value, key])
    return base64.urlsafe_b64encode(payload + cursor._digest(payload)).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sk", "row", "want"),
    [
        (SCORE, {"subreddit_score": 0.1 + 0.2, "name": "a"}, (0.1 + 0.2, "a")),
        (SCORE, {"subreddit_score": None, "name": "b_b"}, (None, "b_b")),
        (SCORE, {"subreddit_score": float("inf"), "name": "inf"}, (float("inf"), "inf")),
        (SCORE, {"subreddit_score": float("-inf"), "name": "ninf"}, (float("-inf"), "ninf")),
        (SUBSCRIBERS, {"subscribers": 2**31 - 1, "name": "big"}, (2**31 - 1, "big")),
        (SUBSCRIBERS, {"subscribers": -5, "name": "neg"}, (-5, "neg")),
        (
            LAST_SCRAPED,
            {"last_scraped_at": datetime(2026, 1, 2, 3, 4, 5, 678901, UTC), "username": "u"},
            (datetime(2026, 1, 2, 3, 4, 5, 678901, UTC), "u"),
        ),
        (BY_NAME, {"username": "zed-9"}, (None, "zed-9")),
        (CREATOR_NAME, {"username": "ünï.côde", "ig_user_id": "pending:x"}, ("ünï.côde", "pending:x")),
        (
            POSTS,
            {"created_utc": datetime(2026, 5, 1, tzinfo=timezone(timedelta(hours=2))), "reddit_id": "t3_x"},
            (datetime(2026, 4, 30, 22, tzinfo=UTC), "t3_x"),
        ),
    ],
)
def test_a_cursor_gives_back_the_rows_sort_value_and_key(sk: SortKey, row: dict[str, Any], want: Any) -> None:
    token = cursor.encode(sk, row)
    assert token.isascii() and "=" not in token and "/" not in token and "+" not in token  # URL-safe as is
    got = cursor.decode(sk, token)
    assert got == want and type(got[0]) is type(want[0])


def test_nan_comes_back_as_nan_not_as_null() -> None:
    value, key = cursor.decode(SCORE, cursor.encode(SCORE, {"subreddit_score": float("nan"), "name": "n"}))
    assert isinstance(value, float) and math.isnan(value) and key == "n"
    with pytest.raises(cursor.CursorError, match="not a valid int"):
        cursor.decode(SUBSCRIBERS, forged("subreddits:subscribers:asc", "NaN", "a"))


def test_a_cursor_belongs_to_its_list_sort_and_order() -> None:
    token = cursor.encode(SCORE, {"subreddit_score": 1.5, "name": "a"})
    for other in (
        subreddits.order_key("score", "asc"),
        subreddits.order_key("engagement", "desc"),
        creators.order_key("engagement", "desc"),
    ):
        with pytest.raises(cursor.CursorError, match="subreddits:score:desc"):
            cursor.decode(other, token)


@pytest.mark.parametrize(
    ("sk", "token", "reason"),
    [
        (SCORE, "", "not a cursor"),
        (SCORE, "%%%", "altered"),
        (SCORE, "€", "not a cursor"),
        (SCORE, base64.urlsafe_b64encode(b'["subreddits:score:desc",1.0,"a"]').decode(), "altered"),
        (SCORE, forged("subreddits:score:desc", 1.0, "a")[:-2], "not a cursor"),  # a cut base64 quantum
        (SCORE, forged("subreddits:score:desc", 1.0, "a")[:-4], "altered"),
        (SCORE, forged("subreddits:score:desc", "1.0", "a"), "not a valid float"),
        (SCORE, forged("subreddits:score:desc", True, "a"), "not a valid float"),
        (SUBSCRIBERS, forged("subreddits:subscribers:asc", 2**31, "a"), "not a valid int"),
        (SUBSCRIBERS, forged("subreddits:subscribers:asc", 1.5, "a"), "not a valid int"),
        (LAST_SCRAPED, forged("users:last_scraped:desc", "2026-01-02T03:04:05", "u"), "not a valid time"),
        (LAST_SCRAPED, forged("users:last_scraped:desc", "yesterday", "u"), "not a valid time"),
        (POSTS, forged("posts:recent:desc", None, "t3_x"), "no empty values"),
        (BY_NAME, forged("users:username:asc", "x", "u"), "has none"),
        (SCORE, forged("subreddits:score:desc", 1.0, ""), "key"),
        (SCORE, forged("subreddits:score:desc", 1.0, 7), "key"),
        (SCORE, forged("subreddits:score:desc", 1.0, "k" * 301), "key"),
        (SCORE, forged("subreddits:score:desc", 1.0, ["a"]), "key"),
    ],
)
def test_bad_cursors_are_refused_with_a_reason(sk: SortKey, token: str, reason: str) -> None:
    with pytest.raises(cursor.CursorError, match=reason):
        cursor.decode(sk, token)


def test_a_payload_that_is_not_three_values_is_refused() -> None:
    for payload in (b"{}", b"[1,2]", b"7", b"[1,2,3,4]", b"not json"):
        token = base64.urlsafe_b64encode(payload + cursor._digest(payload)).decode()
        with pytest.raises(cursor.CursorError):
            cursor.decode(SCORE, token)
