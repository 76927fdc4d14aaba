"""deploy/: Prometheus rules, their unit tests and scrape config (promtool), the /metrics
exposition (promtool check metrics), the systemd units (systemd-analyze) and env.example.

promtool comes from the Debian package `prometheus`. Under CI=true a missing promtool fails
these tests; elsewhere they are skipped with that advice. systemd-analyze is optional.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import psycopg_pool
import pytest
import yaml
from prometheus_client import CollectorRegistry

from smsreg import backlog, config, db, expire_metrics, health, metrics

ROOT = Path(__file__).resolve().parent.parent
PROM = ROOT / "deploy" / "prometheus"
RULES, RULE_TESTS, PROM_CONFIG = PROM / "smsreg.rules.yml", PROM / "smsreg.rules.test.yml", PROM / "prometheus.yml"
SYSTEMD = ROOT / "deploy" / "systemd"
WORKER_UNIT = SYSTEMD / "smsreg.service"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"
# The runbook is README.md's "Alerts runbook"; docs-operations.md holds it until it is merged there.
RUNBOOK_DOCS = (ROOT / "README.md", ROOT / "docs-operations.md")
INSTALLED_SMSREG = "/opt/smsreg/bin/smsreg"
PROMTOOL_ADVICE = "promtool is missing: install the Debian package `prometheus` (apt-get install prometheus)"


def run(*cmd: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, input=stdin.decode() if stdin else None, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(PROMTOOL_ADVICE, pytrace=False)
        pytest.skip(PROMTOOL_ADVICE)
    return path


def alerts() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return {rule["alert"]: rule for group in doc["groups"] for rule in group["rules"] if "alert" in rule}


# ------------------------------------------------------------------ promtool

def test_rules_are_valid(promtool: str) -> None:
    result = run(promtool, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass(promtool: str) -> None:
    result = run(promtool, "test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_scrape_config_is_valid(promtool: str) -> None:
    result = run(promtool, "check", "config", str(PROM_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


def exercise(stats: metrics.Metrics) -> None:
    """Touch every metric the way the worker does, so the exposition has non-trivial values."""
    stats.mo_received.labels("registration").inc()
    stats.registrations.labels("ok").inc()
    stats.deliver_sm_resp.labels(metrics.status_label(0)).inc()
    stats.deliver_sm_resp.labels(metrics.status_label(0x64)).inc()
    stats.submit_sm.labels("accepted").inc()
    stats.receipts.labels("delivered").inc()
    stats.segments_sent.inc(2)
    stats.bound.set(1)
    stats.binds.labels("ok").inc()
    stats.reconnects.labels("link_dead").inc()
    stats.db_errors.labels("unavailable").inc()
    stats.workers_busy.set(2)
    for histogram, value in [(stats.enquire_link_rtt, 0.004), (stats.mo_ack_latency, 0.03),
                             (stats.mo_reply_latency, 0.6), (stats.register_duration, 0.025),
                             (stats.hash_duration, 0.022)]:
        histogram.observe(value)


def test_served_metrics_pass_promtool_lint(promtool: str, cfg: config.Config) -> None:
    stats = metrics.Metrics()
    pool = db.make_pool(cfg.database, "test", min_size=1, max_size=1)
    try:
        stats.registry.register(backlog.BacklogCollector(pool))
        exercise(stats)
        with health.serve("127.0.0.1:0", stats.registry, lambda: {"database": True}) as handle:
            with urllib.request.urlopen(f"http://127.0.0.1:{handle.port}/metrics", timeout=5) as resp:
                body = resp.read()
    finally:
        pool.close()
    text = body.decode()
    assert "smsreg_outbox_queued 0.0" in text, "the backlog collector ran against the database"
    assert 'smsreg_deliver_sm_resp_total{status="0x00000064"} 1.0' in text
    result = run(promtool, "check", "metrics", stdin=body)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


# ------------------------------------------------------------------ rules, without promtool

def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert set(alerts()) - firing == set(), "alerts never tested firing"
    assert set(alerts()) - quiet == set(), "alerts never tested not firing"
    assert (firing | quiet) - set(alerts()) == set(), "tests for alerts that do not exist"


def test_every_alert_has_severity_summary_and_a_runbook_section() -> None:
    doc = "\n".join(p.read_text(encoding="utf-8") for p in RUNBOOK_DOCS if p.exists())
    for name, rule in alerts().items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert rule["annotations"]["summary"], name
        assert rule["annotations"]["runbook"] == f"README.md#{name.lower()}", name
        assert re.search(rf"^#+ {name}$", doc, re.MULTILINE), f"no runbook heading for {name}"


def exported_names() -> set[str]:
    """Every series name the worker and the expiry job export, plus Prometheus' own `up`."""
    reg = CollectorRegistry()
    metrics.Metrics(reg)
    names = {sample.name for family in reg.collect() for sample in family.samples}
    # Histogram series are exposed with the bucket suffix only when observed; list them all.
    names |= {f"{family.name}_bucket" for family in reg.collect() if family.type == "histogram"}
    dead = psycopg_pool.ConnectionPool("postgresql://", open=False)
    names |= {family.name for family in backlog.BacklogCollector(dead).describe()}
    return names | {expire_metrics.LAST_SUCCESS, "up"}


def test_rules_only_use_series_that_exist() -> None:
    used = set(re.findall(r"\b(smsreg_[a-z_]+|up)\b", RULES.read_text(encoding="utf-8").split("groups:", 1)[1]))
    assert used, "the expressions name no series?"
    assert used - exported_names() == set()


def test_scrape_target_is_the_port_the_worker_listens_on() -> None:
    scrape = yaml.safe_load(PROM_CONFIG.read_text(encoding="utf-8"))
    [job] = [j for j in scrape["scrape_configs"] if j["job_name"] == "smsreg"]
    targets = [t for sc in job["static_configs"] for t in sc["targets"]]
    repo_cfg = config.load(ROOT / "config.yaml", {})
    for listen in (repo_cfg.metrics.listen, config.MetricsConfig().listen):
        port = config.parse_listen("metrics.listen", listen)[1]
        assert f"localhost:{port}" in targets
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert "smsreg.rules.yml" in scrape["rule_files"]


# ------------------------------------------------------------------ systemd

def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def test_worker_unit_runs_migrate_then_the_worker_hardened() -> None:
    service = unit(WORKER_UNIT)["Service"]
    assert service["User"] == "smsreg"
    assert service["EnvironmentFile"] == "/etc/smsreg/env"
    assert service["ExecStartPre"] == f"{INSTALLED_SMSREG} migrate"
    assert service["ExecStart"] == f"{INSTALLED_SMSREG} run"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices"):
        assert service[key] == "yes", key
    assert service["ProtectSystem"] == "strict"


def test_stop_timeout_outlasts_the_graceful_shutdown() -> None:
    timeout = unit(WORKER_UNIT)["Service"]["TimeoutStopSec"]
    match = re.fullmatch(r"(\d+)s?", timeout)
    assert match, timeout
    grace_s = config.SmppConfig().shutdown_grace_s
    assert int(match[1]) >= grace_s + 10, "room for the unbind and the pool close after the grace period"


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.skip("systemd-analyze is not installed (package systemd): unit files not verified")
    return path


@pytest.fixture
def installed_units(tmp_path: Path) -> Path:
    """deploy/systemd copied with the smsreg executable pointed at a stub that exists here."""
    stub = tmp_path / "smsreg"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    for path in SYSTEMD.iterdir():
        text = path.read_text(encoding="utf-8")
        (tmp_path / path.name).write_text(text.replace(INSTALLED_SMSREG, str(stub)), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("name", sorted(p.name for p in SYSTEMD.iterdir() if p.suffix in (".service", ".timer")))
def test_systemd_verifies_the_unit(systemd_analyze: str, installed_units: Path, name: str) -> None:
    result = run(systemd_analyze, "verify", str(installed_units / name))
    # verify exits 0 on unknown keys and bad values; it only warns, naming the file.
    warnings = [line for line in (result.stdout + result.stderr).splitlines() if name in line]
    assert result.returncode == 0 and not warnings, result.stdout + result.stderr


def test_worker_unit_exposure_is_low(systemd_analyze: str, installed_units: Path) -> None:
    result = run(systemd_analyze, "security", "--offline=yes", "--threshold=20", "--no-pager",
                 str(installed_units / WORKER_UNIT.name))
    if "--offline" in result.stderr and "unrecognized" in result.stderr:
        pytest.skip("systemd-analyze is older than 252: no offline security review")
    summary = [line for line in result.stdout.splitlines() if "Overall exposure" in line]
    assert result.returncode == 0, summary or result.stderr


# ------------------------------------------------------------------ env.example

def env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and key == key.strip() and not value.startswith(('"', "'")), line
            pairs[key] = value
    return pairs


def test_env_example_lists_the_deployment_settings() -> None:
    assert set(env_example()) == {
        "SMSREG_DATABASE_URL", "SMSREG_SMPP_HOST", "SMSREG_SMPP_PORT", "SMSREG_SMPP_SYSTEM_ID",
        "SMSREG_SMPP_PASSWORD", "SMSREG_METRICS_LISTEN",
    }


def test_env_example_is_accepted_by_the_config_loader() -> None:
    cfg = config.load("/dev/null", env_example())
    assert cfg.smpp.port == 2775
    assert cfg.metrics.listen == "127.0.0.1:9108"
    assert cfg.smpp.password.reveal() == "CHANGEME", "no real secret in the repository"
