"""infra/'s operators' stack: Prometheus config and alert rules pass promtool (Debian's
``prometheus`` package; .ci/run installs it), alert rules behave (promtool's rule unit tests),
every dashboard and rule expression parses and names only metrics and labels that really exist,
and the compose file wires Prometheus, Grafana, the NATS exporters and Jaeger together."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from metric_catalogue import DASHBOARDS, INFRA, RULES, catalogue, dashboard_exprs, rule_exprs, used

B9_SERVICES = ("persistence", "categorizer", "media", "reddit-scraper", "instagram-scraper", "gateway")


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool not found: install Debian's prometheus package (apt-get install -y prometheus)"
    return path


def _run(*args: str, cwd: Path | None = None) -> str:
    res = subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
    return doc


def test_promtool_accepts_the_prometheus_config_with_its_rules(tmp_path: Path) -> None:
    work = tmp_path / "prometheus"
    shutil.copytree(INFRA / "prometheus", work)
    config = (work / "prometheus.yml").read_text()
    assert "/etc/prometheus/rules/*.yml" in config
    (work / "prometheus.yml").write_text(config.replace("/etc/prometheus/rules/", f"{work}/rules/"))
    out = _run("check", "config", str(work / "prometheus.yml"))
    assert f"SUCCESS: {len(RULES)} rule files found" in out, out
    assert f"SUCCESS: {len(rule_exprs())} rules found" in out, out
    out = _run("check", "rules", *map(str, RULES))
    assert f"SUCCESS: {len(rule_exprs())} rules found" in out, out


def test_alert_rules_fire_on_the_failures_they_name() -> None:
    _run("test", "rules", "tests/alerts_test.yml", cwd=INFRA / "prometheus")


def test_dashboard_expressions_parse_in_prometheus(tmp_path: Path) -> None:
    exprs = dashboard_exprs()
    assert len(exprs) >= 15
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": f"b9:dashboard_expr_{i}", "expr": expr} for i, (_, expr) in enumerate(exprs)]}]}
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump(rules))
    assert f"SUCCESS: {len(exprs)} rules found" in _run("check", "rules", str(path))


def test_dashboards_and_rules_name_only_exported_metrics_and_labels(tmp_path: Path) -> None:
    known = catalogue(tmp_path)
    problems = []
    for where, expr in dashboard_exprs() + rule_exprs():
        selectors, grouping = used(expr)
        names = {name for name, _ in selectors}
        for name, labels in selectors:
            if name not in known:
                problems.append(f"{where}: unknown metric {name}")
            elif labels - known[name]:
                problems.append(f"{where}: {name} has no label(s) {sorted(labels - known[name])}")
        available = set().union(*(known.get(n, set()) for n in names)) if names else set()
        if grouping - available:
            problems.append(f"{where}: grouping by unknown label(s) {sorted(grouping - available)}")
    assert not problems, "\n".join(problems)


def test_a_made_up_metric_would_be_caught(tmp_path: Path) -> None:
    known = catalogue(tmp_path)
    selectors, _ = used('sum by (consumer) (rate(b9_events_handeld_total{outcome="ack"}[5m]))')
    assert [n for n, _ in selectors if n not in known] == ["b9_events_handeld_total"]
    selectors, _ = used('b9_consumer_lag{stream_name="x"}')
    assert selectors[0][1] - known["b9_consumer_lag"] == {"stream_name"}


def test_grafana_provisioning_matches_the_compose_mounts() -> None:
    services = compose()["services"]
    grafana = services["grafana"]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in grafana["volumes"] if v.startswith("./"))
    assert mounts == {"./grafana/provisioning": "/etc/grafana/provisioning",
                      "./grafana/dashboards": "/var/lib/grafana/dashboards"}
    prov = yaml.safe_load((INFRA / "grafana/provisioning/dashboards/dashboards.yml").read_text())
    assert [p["options"]["path"] for p in prov["providers"]] == ["/var/lib/grafana/dashboards"]
    sources = yaml.safe_load((INFRA / "grafana/provisioning/datasources/datasources.yml").read_text())
    urls = {d["uid"]: d["url"] for d in sources["datasources"]}
    assert urls == {"prometheus": "http://prometheus:9090", "jaeger": "http://jaeger:16686"}
    assert {"prometheus", "jaeger"} <= set(services)
    uids = {t["datasource"]["uid"] for _, p in _panels() for t in p.get("targets", [])}
    assert uids <= set(urls)
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (INFRA / "grafana/dashboards" / Path(home).name).exists()
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert "GRAFANA_ADMIN_PASSWORD=CHANGE_ME" in (INFRA / "env/stack.env.example").read_text().splitlines()


def _panels() -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, panel) for p in DASHBOARDS for panel in json.loads(p.read_text())["panels"]]


def test_the_dashboard_covers_what_operators_asked_for() -> None:
    text = " ".join(f"{panel['title']} {json.dumps(panel.get('targets', []))}" for _, panel in _panels())
    for needed in ("b9_events_handled_total", "b9_consumer_lag", "jetstream_consumer_num_pending",
                   "DLQ", "b9_handler_seconds_bucket", "b9_scrape_attempts_total",
                   "b9_upstream_budget_per_minute", "b9_http_request_seconds_bucket"):
        assert needed in text, needed
    ids = [panel["id"] for _, panel in _panels()]
    assert len(ids) == len(set(ids))


def test_prometheus_scrapes_every_service_replica_and_every_nats_node() -> None:
    services = compose()["services"]
    config = yaml.safe_load((INFRA / "prometheus/prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    common = dict(line.split("=", 1) for line in (INFRA / "env/common.env.example").read_text().splitlines()
                  if line and not line.startswith("#"))
    assert common["METRICS_HOST"] == "0.0.0.0"
    for name in B9_SERVICES:
        [sd] = jobs[f"b9-{name}"]["dns_sd_configs"]
        assert sd["names"] == [name] and sd["type"] == "A" and sd["port"] == int(common["METRICS_PORT"])
        assert services[name]["env_file"][0] == "env/common.env"
    targets = jobs["nats"]["static_configs"][0]["targets"]
    for i in (1, 2, 3):
        assert f"nats-exporter-{i}:7777" in targets
        exporter = services[f"nats-exporter-{i}"]
        assert exporter["command"][-1] == f"http://nats-{i}:8222"
        assert {"-varz", "-jsz=all"} <= set(exporter["command"])
        assert re.search(r"^http: 0\.0\.0\.0:8222$", (INFRA / f"nats/nats-{i}.conf").read_text(), re.M)
    prom = services["prometheus"]
    assert "./prometheus/rules:/etc/prometheus/rules:ro" in prom["volumes"]
    assert "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prom["volumes"]


def test_services_send_traces_to_the_stacks_jaeger() -> None:
    services = compose()["services"]
    common = (INFRA / "env/common.env.example").read_text().splitlines()
    assert "OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger:4318" in common
    assert services["jaeger"]["environment"]["JAEGER_LISTEN_HOST"] == "0.0.0.0"
    for name in ("prometheus", "grafana", "jaeger"):
        for port in services[name]["ports"]:
            assert port.startswith("${OPS_BIND:-127.0.0.1}:"), port


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_json_is_provisionable(path: Path) -> None:
    dash = json.loads(path.read_text())
    assert dash["uid"] and dash["title"] and dash["panels"]
    for panel in dash["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
