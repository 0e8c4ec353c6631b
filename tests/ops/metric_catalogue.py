"""What the operators' configs may refer to: every metric (and its labels) that the b9
services export, that Prometheus adds, and that prometheus-nats-exporter makes of NATS's
monitoring endpoint; plus a walker that lists the metrics and labels a PromQL expression uses."""

from __future__ import annotations

import importlib
import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import yaml
from b9_common.embedded import nats_server_binary
from prometheus_client import REGISTRY

INFRA = Path(__file__).resolve().parents[2] / "infra"
RULES = sorted((INFRA / "prometheus" / "rules").glob("*.yml"))
DASHBOARDS = sorted((INFRA / "grafana" / "dashboards").glob("*.json"))
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
SERVICE_MODULES = ("b9_persistence.main", "b9_categorizer.main", "b9_media.main", "b9_reddit_scraper.main",
                   "b9_instagram_scraper.main", "b9_gateway.main", "b9_gateway.app")
TARGET_LABELS = {"job", "instance"}  # Prometheus adds these to every scraped series

# prometheus-nats-exporter -jsz=all (collector/jsz.go, v0.17-v0.20): system "jetstream".
_SERVER = {"server_id", "server_name", "cluster", "domain", "meta_leader", "is_meta_leader"}
_STREAM = _SERVER | {"account", "account_name", "account_id", "stream_name", "stream_leader",
                     "is_stream_leader", "stream_raft_group"}
_CONSUMER = _STREAM | {"consumer_name", "consumer_leader", "is_consumer_leader", "consumer_desc"}
JETSTREAM = {
    **{f"jetstream_stream_{n}": _STREAM for n in (
        "total_messages", "limit_messages", "total_bytes", "limit_bytes", "first_seq", "last_seq",
        "consumer_count", "subject_count")},
    **{f"jetstream_consumer_{n}": _CONSUMER for n in (
        "delivered_consumer_seq", "delivered_stream_seq", "last_delivery_seconds", "last_ack_seconds",
        "num_ack_pending", "num_redelivered", "num_waiting", "num_pending", "ack_floor_stream_seq",
        "ack_floor_consumer_seq")},
}


def service_metrics() -> dict[str, set[str]]:
    """Sample name -> label names, for every metric the services register (after importing them)."""
    for mod in SERVICE_MODULES:
        importlib.import_module(mod)
    out: dict[str, set[str]] = {}
    for collector in list(REGISTRY._collector_to_names):  # the registry's own index
        labels = set(getattr(collector, "_labelnames", ()))
        for family in collector.describe() if hasattr(collector, "describe") else collector.collect():
            kind = family.type
            if kind == "counter":
                names = {f"{family.name}_total": labels}
            elif kind == "histogram":
                names = {f"{family.name}_bucket": labels | {"le"}, f"{family.name}_count": labels,
                         f"{family.name}_sum": labels}
            else:
                names = {family.name: labels}
            for sample in family.samples:  # process_*, python_* collectors report their samples
                names.setdefault(sample.name, set(sample.labels))
            for name, ls in names.items():
                out.setdefault(name, set()).update(ls)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nats_varz_metrics(tmp: Path) -> dict[str, set[str]]:
    """``gnatsd_varz_<key>`` for every numeric key of a real nats-server's /varz (what the
    exporter's -varz collector makes of it; labels: server_id)."""
    port, http = _free_port(), _free_port()
    proc = subprocess.Popen([nats_server_binary(), "-a", "127.0.0.1", "-p", str(port), "-m", str(http),
                             "-js", "-sd", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http}/varz", timeout=2) as resp:
                    varz = json.load(resp)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(10)
    return {f"gnatsd_varz_{k}": {"server_id"} for k, v in varz.items()
            if isinstance(v, int | float) and not isinstance(v, bool)}


def catalogue(tmp: Path) -> dict[str, set[str]]:
    known = {"up": set(), **service_metrics(), **JETSTREAM, **nats_varz_metrics(tmp)}
    return {name: labels | TARGET_LABELS for name, labels in known.items()}


# -- PromQL --------------------------------------------------------------------------
def _children(node: Any) -> Iterator[Any]:
    for attr in ("expr", "lhs", "rhs", "vector_selector", "param"):
        child = getattr(node, attr, None)
        if child is not None and type(child).__module__ == "promql_parser":
            yield child
    for child in getattr(node, "args", None) or ():
        yield child


def used(expr: str) -> tuple[list[tuple[str, set[str]]], set[str]]:
    """([(metric, labels its matchers name)], labels named in by/without/on/ignoring clauses)."""
    selectors: list[tuple[str, set[str]]] = []
    grouping: set[str] = set()
    stack = [promql_parser.parse(expr)]
    while stack:
        node = stack.pop()
        if type(node).__name__ == "VectorSelector":
            matchers = node.matchers.matchers if node.matchers else []
            selectors.append((node.name or "", {m.name for m in matchers if m.name != "__name__"}))
        modifier = getattr(node, "modifier", None)
        if modifier is not None:
            grouping |= set(getattr(modifier, "labels", None) or ())
            matching = getattr(modifier, "matching", None)
            grouping |= set(getattr(matching, "labels", None) or ())
        stack.extend(_children(node))
    return selectors, grouping


def dashboard_exprs() -> list[tuple[str, str]]:
    out = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                expr = target["expr"]
                for var, value in GRAFANA_VARS.items():
                    expr = expr.replace(var, value)
                out.append((f"{path.name}: {panel['title']}", expr))
    return out


def rule_exprs() -> list[tuple[str, str]]:
    return [(f"{path.name}: {rule.get('alert') or rule.get('record')}", rule["expr"])
            for path in RULES for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def referenced_metrics() -> set[str]:
    """Every metric name the dashboards and alert rules use."""
    return {name for _, expr in dashboard_exprs() + rule_exprs() for name, _ in used(expr)[0]}
