"""NATS users and least-privilege permissions per b9 service, from the event catalogue.

One source for both NATS deployments: ``infra/nats/gen_auth.py`` renders ``infra/nats/auth.conf``
for the cluster, and ``b9 up`` renders the same accounts for its embedded nats-server (passwords
generated into ``<data dir>/nats-auth.json``). The permissions follow from who publishes which
event type (``events/catalogue.py``) and which streams a service reads:

- publish: its own event subjects; ``dlq.<type>`` for the types of the streams it reads
  (dead-lettering); ``$JS.ACK.<stream>.>`` and pulls on those streams; the JetStream API
  calls ``Topology.provision`` needs (info/create/update of streams and KV buckets; never
  delete or purge); its own heartbeat key; the KV keys it may write.
- subscribe: ``_INBOX.>`` (JetStream replies, pull deliveries, KV watches), plus every event
  subject for the gateway's live feed.

Passwords are never written into the config: nats-server resolves ``$NATS_<USER>_PASSWORD``
from its environment. A ``Topology`` with a namespace prefixes every name as the services do.
"""

from __future__ import annotations

from dataclasses import dataclass

from b9_common.events.catalogue import EVENTS, stream_subjects
from b9_common.jetstream.topology import Topology

ACCOUNT = "B9"


@dataclass(frozen=True)
class Role:
    publishes: tuple[str, ...] = ()  # event types
    reads: tuple[str, ...] = ()  # streams it has pull consumers on
    kv_write: tuple[str, ...] = ()  # "$KV.<bucket>.<key prefix>" tails, e.g. "control.>"
    kv_read: tuple[str, ...] = ("control",)  # buckets it may get/watch
    sub_events: bool = False  # core-subscribe to every event subject (live feed)
    admin_consumers: bool = False  # may delete consumers (replays)
    dlq_admin: bool = False  # may read, delete and purge dead letters (DLQ retry republishes them)
    core_pub: tuple[str, ...] = ()  # core NATS subject tails (no stream), e.g. "b9.decisions.applied"
    core_sub: tuple[str, ...] = ()
    msg_get: tuple[str, ...] = ()  # streams it reads messages of by subject, without a consumer
    lists: tuple[str, ...] = ()  # streams whose consumers it lists without reading them (overview)


REDDIT = (
    "subreddit.fetched",
    "posts.fetched",
    "user.fetched",
    "subreddit.discovered",
    "scrape.attempted",
)
INSTAGRAM = (
    "creator.scraped",
    "creator.discovered",
    "creator.related_processed",
    "scrape.attempted",
)
COMMANDS = tuple(stream_subjects("COMMANDS"))
DECISIONS = tuple(stream_subjects("DECISIONS"))
APPLIED = "b9.decisions.applied"  # Topology.decisions_applied_subject
STOP = "b9.replay.stop"  # Topology.replay_stop_subject: a replay id to stop, per owning service
# What a service that owns replayable consumers needs besides its own role (b9_common.replay.owner):
# its replay commands (COMMANDS), the replay records, the stop subject, and deleting the
# throw-away consumers that count a slice.
REPLAY_KV = ("replays.>", "replay_plans.>")

ROLES: dict[str, Role] = {
    "reddit-scraper": Role(
        publishes=REDDIT,
        reads=("SCRAPE", "COMMANDS"),
        kv_write=("control.>", "budgets.>", "reddit_scraper.>", "requests.>"),
        kv_read=("control", "budgets", "reddit_scraper", "requests"),
        msg_get=("COMMANDS",),  # queued subreddit commands count as known for discovery
    ),
    "instagram-scraper": Role(
        publishes=INSTAGRAM,
        reads=("SCRAPE", "COMMANDS"),
        kv_write=("control.>", "budgets.>", "ig_state.>", "ig_known.>", "ig_claims.>", "requests.>"),
        kv_read=("control", "budgets", "ig_state", "ig_known", "ig_claims", "requests"),
    ),
    "categorizer": Role(
        publishes=("subreddit.categorized", "creator.categorized"),
        reads=("SCRAPE", "DERIVED", "COMMANDS"),
        kv_write=("categorizer_cache.>", "requests.>", *REPLAY_KV),
        kv_read=("control", "categorizer_cache", "requests", "replays", "replay_plans"),
        core_sub=(f"{STOP}.categorizer",),
        admin_consumers=True,
    ),
    "media": Role(
        publishes=("media.stored", "media.failed"),
        reads=("SCRAPE", "COMMANDS"),
        kv_write=("media_sources.>", "requests.>", *REPLAY_KV),
        kv_read=("control", "media_sources", "requests", "replays", "replay_plans"),
        core_sub=(f"{STOP}.media",),
        admin_consumers=True,
    ),
    # (requests.>: followed requests, b9_common.ops.requests: the services that run commands report them)
    "persistence": Role(reads=("SCRAPE", "DERIVED", "DECISIONS", "COMMANDS"), core_pub=(APPLIED,),
                        kv_write=REPLAY_KV, kv_read=("control", "replays", "replay_plans"),
                        core_sub=(f"{STOP}.persistence",),
                        admin_consumers=True),
    # Alerts: evaluates rules over the streams; hears rule changes at once on core NATS (every replica).
    "alerts": Role(
        publishes=("notification.created", "webhook.delivered", "webhook.failed"),
        reads=("SCRAPE", "DERIVED", "DECISIONS", "COMMANDS"),
        core_sub=("alert_rule.created", "alert_rule.updated", "alert_rule.deleted", f"{STOP}.alerts"),
        kv_write=REPLAY_KV,
        kv_read=("control", "replays", "replay_plans"),
        admin_consumers=True,
    ),
    # Besides commands (replay.requested.<service> among them) and decisions, the gateway
    # republishes dead letters to their original subjects (DLQ retry). It runs no replay: it
    # reads their records and asks the owner to stop one.
    "gateway": Role(
        publishes=tuple(EVENTS),
        core_sub=(APPLIED,),
        core_pub=(f"{STOP}.*",),
        reads=("SCRAPE", "DERIVED", "COMMANDS", "DLQ"),
        kv_write=("control.>", "accounts.>", "sessions.>", "requests.>"),
        kv_read=("control", "heartbeats", "budgets", "replays", "replay_plans", "accounts", "sessions", "requests"),
        sub_events=True,
        admin_consumers=True,
        dlq_admin=True,
        lists=("DECISIONS",),  # the overview shows every stream's consumers and their lag
    ),
}

# What Topology.provision and the consumer runtime call on every service start.
PROVISION = (
    "$JS.API.INFO",
    "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.LIST",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.STREAM.CREATE.*",
    "$JS.API.STREAM.UPDATE.*",
)


def password_var(user: str) -> str:
    return f"NATS_{user.upper().replace('-', '_')}_PASSWORD"


def permissions(name: str, role: Role, topo: Topology | None = None) -> tuple[list[str], list[str]]:
    for t in role.publishes:
        if t not in EVENTS:
            raise ValueError(f"{name}: {t!r} is not in the event catalogue")
    topo = topo or Topology()
    pub: list[str] = [topo.subject(t) for t in role.publishes]
    streams = [topo.stream(s) for s in role.reads] + [f"KV_{topo.bucket(b)}" for b in role.kv_read]
    for stream in role.reads:
        types = stream_subjects(stream) if stream != "DLQ" else []
        pub += [topo.dlq_subject(t) for t in types]
    pub += PROVISION
    for s in streams:
        pub += [
            f"$JS.API.CONSUMER.CREATE.{s}",  # no filter subject (nats-py's ordered consumers: KV watch)
            f"$JS.API.CONSUMER.CREATE.{s}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{s}.*",
            f"$JS.API.CONSUMER.INFO.{s}.*",
            f"$JS.API.CONSUMER.MSG.NEXT.{s}.*",
            f"$JS.ACK.{s}.>",
        ]
        if role.admin_consumers:
            pub += [
                f"$JS.API.CONSUMER.DELETE.{s}.*",
                f"$JS.API.CONSUMER.LIST.{s}",
                f"$JS.API.CONSUMER.NAMES.{s}",
            ]
    for b in map(topo.bucket, role.kv_read):
        pub += [
            f"$JS.API.DIRECT.GET.KV_{b}",
            f"$JS.API.DIRECT.GET.KV_{b}.>",
            f"$JS.API.STREAM.MSG.GET.KV_{b}",
        ]
    pub += [f"$JS.API.STREAM.MSG.GET.{topo.stream(s)}" for s in role.msg_get]
    for s in map(topo.stream, role.lists):
        pub += [f"$JS.API.CONSUMER.LIST.{s}", f"$JS.API.CONSUMER.NAMES.{s}", f"$JS.API.CONSUMER.INFO.{s}.*"]
    if role.dlq_admin:
        dlq = topo.stream("DLQ")
        pub += [f"$JS.API.STREAM.MSG.GET.{dlq}", f"$JS.API.DIRECT.GET.{dlq}", f"$JS.API.DIRECT.GET.{dlq}.>",
                f"$JS.API.STREAM.MSG.DELETE.{dlq}", f"$JS.API.STREAM.PURGE.{dlq}"]
    pub += ["$JS.FC.>", f"$KV.{topo.bucket('heartbeats')}.{name}.>"]
    pub += [f"$KV.{topo.bucket(k.split('.', 1)[0])}.{k.split('.', 1)[1]}" for k in role.kv_write]
    pub += [topo.subject(t) for t in role.core_pub]
    sub = ["_INBOX.>", *(topo.subject(t) for t in role.core_sub)]
    if role.sub_events:
        sub += [*sorted(map(topo.subject, EVENTS)), topo.dlq_subject(">")]
    return list(dict.fromkeys(pub)), sub


def _list(items: list[str], indent: str) -> str:
    return "[\n" + "".join(f'{indent}  "{i}"\n' for i in items) + f"{indent}]"


def render(topo: Topology | None = None) -> str:
    """The accounts block: SYS, and B9 with the admin user and one user per service."""
    lines = [
        "# GENERATED by infra/nats/gen_auth.py from the event catalogue: do not edit by hand.",
        "# Passwords come from the environment (env/stack.env); none is written here.",
        "system_account: SYS",
        "accounts {",
        "  SYS {",
        "    users = [ { user: sys, password: $NATS_SYS_PASSWORD } ]",
        "  }",
        f"  {ACCOUNT} {{",
        "    jetstream: enabled",
        "    users = [",
        "      # operators and the b9 CLI (replay, DLQ retry, stream admin)",
        "      { user: admin, password: $NATS_ADMIN_PASSWORD }",
    ]
    ind = "          "
    for name, role in ROLES.items():
        pub, sub = permissions(name, role, topo)
        lines += [
            f'      {{ user: "{name}", password: ${password_var(name)}, permissions: {{',
            f"        publish: {{ allow: {_list(pub, ind)} }}",
            f"        subscribe: {{ allow: {_list(sub, ind)} }}",
            "      } }",
        ]
    lines += ["    ]", "  }", "}", ""]
    return "\n".join(lines)


