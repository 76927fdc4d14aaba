"""smsreg.metrics: names, initialised label values, buckets, and the leaf-module rule."""

from __future__ import annotations

import ast
import platform
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from smsreg import __version__, metrics, receipts, replies

LABELLED = [
    ("smsreg_mo_received_total", "kind", metrics.MO_KINDS),
    ("smsreg_registrations_total", "outcome", metrics.REGISTRATION_OUTCOMES),
    ("smsreg_submit_sm_total", "result", metrics.SUBMIT_RESULTS),
    ("smsreg_delivery_receipts_total", "state", metrics.RECEIPT_STATES),
    ("smsreg_smpp_binds_total", "result", metrics.BIND_RESULTS),
    ("smsreg_smpp_reconnects_total", "reason", metrics.RECONNECT_REASONS),
    ("smsreg_db_errors_total", "kind", metrics.DB_ERROR_KINDS),
    ("smsreg_deliver_sm_resp_total", "status", ("0x00000000", "0x00000064")),
]
HISTOGRAMS = [
    "smsreg_enquire_link_rtt_seconds", "smsreg_mo_ack_seconds", "smsreg_mo_reply_seconds",
    "smsreg_register_transaction_seconds", "smsreg_password_hash_seconds",
]


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def m(registry: CollectorRegistry) -> metrics.Metrics:
    return metrics.Metrics(registry)


@pytest.mark.parametrize(("name", "label", "values"), LABELLED, ids=[n for n, _, _ in LABELLED])
def test_every_label_value_is_zero_before_any_event(m: metrics.Metrics, name: str, label: str,
                                                    values: tuple[str, ...]) -> None:
    for value in values:
        assert m.registry.get_sample_value(name, {label: value}) == 0.0, (name, value)


def test_unlabelled_series_exist_at_zero(m: metrics.Metrics) -> None:
    get = m.registry.get_sample_value
    assert get("smsreg_reply_segments_sent_total") == 0.0
    assert get("smsreg_smpp_bound") == 0.0
    assert get("smsreg_workers_busy") == 0.0
    for name in HISTOGRAMS:
        assert get(f"{name}_count") == 0.0, name
        assert get(f"{name}_bucket", {"le": "+Inf"}) == 0.0, name


def test_label_sets_match_the_values_the_worker_produces() -> None:
    assert set(metrics.REGISTRATION_OUTCOMES) == {o.value for o in replies.Outcome}
    assert set(metrics.RECEIPT_STATES) == set(receipts.FINAL_STATES)


def test_counters_count_under_their_label(m: metrics.Metrics) -> None:
    m.mo_received.labels("registration").inc()
    m.registrations.labels("duplicate_id").inc(2)
    m.submit_sm.labels("throttled").inc()
    get = m.registry.get_sample_value
    assert get("smsreg_mo_received_total", {"kind": "registration"}) == 1.0
    assert get("smsreg_mo_received_total", {"kind": "receipt"}) == 0.0
    assert get("smsreg_registrations_total", {"outcome": "duplicate_id"}) == 2.0
    assert get("smsreg_submit_sm_total", {"result": "throttled"}) == 1.0


def test_deliver_sm_resp_labels_follow_the_configured_temp_error(registry: CollectorRegistry) -> None:
    m = metrics.Metrics(registry, temp_error_status=0x58)
    get = registry.get_sample_value
    assert get("smsreg_deliver_sm_resp_total", {"status": "0x00000058"}) == 0.0
    assert get("smsreg_deliver_sm_resp_total", {"status": "0x00000064"}) is None
    m.deliver_sm_resp.labels(metrics.status_label(0x58)).inc()
    assert get("smsreg_deliver_sm_resp_total", {"status": "0x00000058"}) == 1.0


@pytest.mark.parametrize(("status", "label"), [
    (0, "0x00000000"), (0x64, "0x00000064"), (0x58, "0x00000058"), (0xFFFFFFFF, "0xffffffff"),
])
def test_status_label_is_eight_hex_digits(status: int, label: str) -> None:
    assert metrics.status_label(status) == label


def test_gauges_set_and_move(m: metrics.Metrics) -> None:
    m.bound.set(1)
    m.workers_busy.inc()
    m.workers_busy.inc()
    m.workers_busy.dec()
    assert m.registry.get_sample_value("smsreg_smpp_bound") == 1.0
    assert m.registry.get_sample_value("smsreg_workers_busy") == 1.0


def test_histogram_observations_land_in_their_bucket(m: metrics.Metrics) -> None:
    m.mo_ack_latency.observe(0.02)
    m.mo_reply_latency.observe(0.8)
    get = m.registry.get_sample_value
    assert get("smsreg_mo_ack_seconds_bucket", {"le": "0.01"}) == 0.0
    assert get("smsreg_mo_ack_seconds_bucket", {"le": "0.025"}) == 1.0
    assert get("smsreg_mo_ack_seconds_sum") == pytest.approx(0.02)
    assert get("smsreg_mo_reply_seconds_bucket", {"le": "0.75"}) == 0.0
    assert get("smsreg_mo_reply_seconds_bucket", {"le": "1.0"}) == 1.0


@pytest.mark.parametrize("buckets", [
    metrics.ENQUIRE_LINK_BUCKETS_S, metrics.MO_ACK_BUCKETS_S, metrics.MO_REPLY_BUCKETS_S,
    metrics.REGISTER_BUCKETS_S, metrics.HASH_BUCKETS_S,
])
def test_buckets_are_increasing_seconds(buckets: tuple[float, ...]) -> None:
    assert list(buckets) == sorted(set(buckets))
    assert 0 < buckets[0] < 0.1, "the first edge must resolve the fast case"
    assert buckets[-1] <= 60, "seconds, not milliseconds"


def test_alert_thresholds_and_the_promise_fall_on_bucket_edges() -> None:
    # histogram_quantile interpolates inside a bucket: an edge at the threshold keeps it exact.
    assert 1.0 in metrics.MO_REPLY_BUCKETS_S      # "a reply within a second"
    assert 5.0 in metrics.MO_REPLY_BUCKETS_S      # ReplyLatencyHigh
    assert 0.5 in metrics.REGISTER_BUCKETS_S      # RegisterLatencyHigh
    assert 2.0 in metrics.MO_ACK_BUCKETS_S        # database.retry_budget_s default


def test_build_info_carries_version_and_python(m: metrics.Metrics) -> None:
    labels = {"version": __version__, "python": platform.python_version()}
    assert m.registry.get_sample_value("smsreg_build_info", labels) == 1.0


def test_own_registry_gets_process_metrics_and_instances_do_not_clash() -> None:
    first, second = metrics.Metrics(), metrics.Metrics()
    assert first.registry is not second.registry
    assert first.registry.get_sample_value("process_cpu_seconds_total") is not None
    assert first.registry.get_sample_value("smsreg_smpp_bound") == 0.0


def test_a_given_registry_is_used_as_is(registry: CollectorRegistry) -> None:
    m = metrics.Metrics(registry)
    assert m.registry is registry
    assert registry.get_sample_value("process_cpu_seconds_total") is None
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        metrics.Metrics(registry)


def test_every_family_is_namespaced(m: metrics.Metrics) -> None:
    names = {family.name for family in m.registry.collect()}
    assert names and all(name.startswith("smsreg_") for name in names), names


def test_metrics_is_a_leaf_module() -> None:
    """Only the standard library, prometheus_client and the package's version string."""
    tree = ast.parse(Path(metrics.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.module == "smsreg":
                assert [alias.name for alias in node.names] == ["__version__"]
            imported.add(node.module or "")
    assert imported == {"__future__", "platform", "typing", "prometheus_client", "smsreg"}


def test_labelled_children_are_the_same_objects_however_asked() -> None:
    stats = metrics.Metrics()
    child = stats.registrations.labels(outcome="ok")
    assert stats.registrations.labels("ok") is child
    child.inc()
    stats.registrations.labels(outcome="ok").inc(2)
    assert stats.registry.get_sample_value("smsreg_registrations_total", {"outcome": "ok"}) == 3
    stats.registrations.labels(outcome="not_known_ahead").inc()  # created on first use, as before
    assert stats.registry.get_sample_value("smsreg_registrations_total", {"outcome": "not_known_ahead"}) == 1
