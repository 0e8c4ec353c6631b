"""Rules over the live stream: notifications once per entity, signed webhooks, retries, failures."""

from __future__ import annotations

from typing import Any

import msgspec
from alenv import Stack, receiver, stack, wait_for
from b9_common.events import SubredditDiscovered, SubredditFetched


async def _rule(st: Stack, **body: Any) -> dict[str, Any]:
    r = await st.client.post("/api/v1/alerts", json={"name": "r", "on": "subreddit.discovered", **body})
    assert r.status_code == 201, r.text
    return r.json()


async def _log(st: Stack, rule_id: str) -> list[dict[str, Any]]:
    r = await st.client.get(f"/api/v1/alerts/{rule_id}/deliveries")
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def test_each_discovered_subreddit_is_delivered_once_signed_and_in_the_bell(st: Stack) -> None:
    async with receiver() as rec:
        even = [f"sub{i}" for i in range(0, 40, 2)]
        rule = await _rule(st, name="new subs", webhook=rec.url, where={"name": {"in": even}})
        names = [f"sub{i}" for i in range(40)]
        # every name discovered twice (via two users), one event published twice with the same id
        events = [SubredditDiscovered(name=n, via_user=u) for u in ("a", "b") for n in names]
        await st.rt.publisher.publish_many(events)
        env = st.rt.publisher.envelope(SubredditDiscovered(name="sub0", via_user="c"))
        await st.rt.publisher.publish_envelope(env)
        await st.rt.publisher.publish_envelope(env)
        await wait_for(lambda: len(rec.got) >= 20, what="20 deliveries")
        await wait_for(lambda: _log(st, rule["id"]), what="the delivery log")
        await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 20 FROM webhook_deliveries"), what="20 logged")
        assert rec.bad_signatures == 0
        assert sorted(rec.entities()) == sorted(f"sub{i}" for i in range(0, 40, 2))  # each once, only matches
        assert len({g["delivery"] for g in rec.got}) == 20
        first = rec.got[0]
        assert first["rule"] == {"id": rule["id"], "name": "new subs", "on": "subreddit.discovered"}
        assert first["event"]["type"] == "subreddit.discovered"
        assert first["event"]["fields"]["name"] == first["notification"]["entity"]
        assert first["link"].startswith("http://127.0.0.1:8000/#/reddit/subreddits/sub")
        log = await _log(st, rule["id"])
        assert {(d["outcome"], d["attempts"], d["status"]) for d in log} == {("delivered", 1, 200)}
        # the bell: newest first, unread after a cursor
        await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 20 FROM notifications"), what="20 stored")
        page = (await st.client.get("/api/v1/notifications", params={"per_page": 5})).json()
        assert [n["entity"] for n in page["items"]] == ["sub38", "sub36", "sub34", "sub32", "sub30"]
        assert page["total"] == 20 and page["unread"] == 20 and len(page["items"]) == 5
        since = page["items"][0]["created_at"]
        after = (await st.client.get("/api/v1/notifications", params={"since": since})).json()
        assert after["unread"] == 0 and after["total"] == 20
        assert all(not n["replayed"] and n["rule_id"] == rule["id"] for n in page["items"])


async def test_rules_see_only_what_is_stored_after_them_and_paused_rules_nothing(st: Stack) -> None:
    await st.rt.publisher.publish(SubredditFetched(name="before", subscribers=50_000))
    await wait_for(lambda: st.pool.fetchval("SELECT count(*) FROM subreddits"), what="the fact stored")
    rule = await _rule(st, on="subreddit.fetched", where={"subscribers": {"gte": 10_000}})
    paused = await _rule(st, on="subreddit.fetched", paused=True)
    await st.rt.publisher.publish_many([SubredditFetched(name="small", subscribers=10),
                                        SubredditFetched(name="Big", subscribers=20_000)])
    await wait_for(lambda: st.pool.fetchval("SELECT count(*) FROM notifications"), what="a notification")
    await st.rt.publisher.publish(SubredditFetched(name="later", subscribers=10_000))
    await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 2 FROM notifications"), what="two notifications")
    rows = await st.pool.fetch("SELECT rule_id, entity FROM notifications ORDER BY entity")
    assert [(r["rule_id"], r["entity"]) for r in rows] == [(rule["id"], "big"), (rule["id"], "later")]
    assert paused["id"] not in {r["rule_id"] for r in rows}


async def test_a_receiver_answering_500_then_200_is_retried_and_succeeds(st: Stack) -> None:
    async with receiver(plan=lambda n: 500 if n == 0 else 200) as rec:
        rule = await _rule(st, webhook=rec.url)
        await st.rt.publisher.publish(SubredditDiscovered(name="retried"))
        await wait_for(lambda: st.pool.fetchval("SELECT count(*) FROM webhook_deliveries"), what="the outcome")
        assert rec.calls == 2 and rec.entities() == ["retried"]
        [d] = await _log(st, rule["id"])
        assert (d["outcome"], d["attempts"], d["status"], d["reason"]) == ("delivered", 2, 200, "")


async def test_an_always_failing_receiver_is_marked_failed_with_the_reason(nats_url: str, namespace: str,
                                                                         database_url: str) -> None:
    async with stack(nats_url, namespace, database_url, retry_seconds=1.5) as st, receiver(plan=lambda n: 503) as rec:
        rule = await _rule(st, webhook=rec.url)
        await st.rt.publisher.publish(SubredditDiscovered(name="doomed"))
        await wait_for(lambda: st.pool.fetchval("SELECT count(*) FROM webhook_deliveries"), what="the outcome")
        [d] = await _log(st, rule["id"])
        assert d["outcome"] == "failed" and d["attempts"] >= 2 and rec.calls == d["attempts"]
        assert (d["reason"], d["status"]) == ("HTTP 503 from 127.0.0.1", 503), d
        # a final 4xx is not retried
        gone = await _rule(st, name="gone", webhook=rec.url.replace("/hook", "/nowhere"))
        await st.rt.publisher.publish(SubredditDiscovered(name="doomed2"))
        await wait_for(lambda: _log(st, gone["id"]), what="the 404's outcome")
        [d] = await _log(st, gone["id"])
        assert (d["outcome"], d["attempts"]) == ("failed", 1)
        assert "HTTP 404" in d["reason"] and "not retried" in d["reason"], d


async def test_slack_compatible_bodies_are_signed_text(st: Stack) -> None:
    async with receiver() as rec:
        await _rule(st, name="to slack", webhook=rec.url, slack=True)
        await st.rt.publisher.publish(SubredditDiscovered(name="SlackMe"))
        await wait_for(lambda: rec.got, what="the delivery")
        [got] = rec.got
        assert set(got) == {"delivery", "text"} and rec.bad_signatures == 0
        assert got["text"] == "*to slack*: r/SlackMe <http://127.0.0.1:8000/#/reddit/subreddits/SlackMe|open in b9>"


async def test_a_name_resolving_to_loopback_is_refused_at_delivery(st: Stack) -> None:
    # The gateway was told to accept "localhost" (its allow-list); the alerts service was not: every
    # delivery resolves the name and checks each answer before connecting (DNS rebinding).
    st.deps.settings = msgspec.structs.replace(st.deps.settings, alert_webhook_allowed_hosts="127.0.0.1,localhost")
    rule = await _rule(st, webhook="https://localhost:9/hook")
    await st.rt.publisher.publish(SubredditDiscovered(name="rebound"))
    await wait_for(lambda: st.pool.fetchval("SELECT count(*) FROM webhook_deliveries"), what="the outcome")
    [d] = await _log(st, rule["id"])
    assert (d["outcome"], d["attempts"]) == ("failed", 1), d
    assert "localhost resolves to" in d["reason"] and "loopback" in d["reason"], d
