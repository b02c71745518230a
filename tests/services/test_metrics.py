"""Metric labels are fixed vocabularies, and job outcomes move the right series."""

from __future__ import annotations

from services.jobs import RunReport
from services.metrics import Metrics, command_label


def test_component_labels_keep_the_feature_and_action_and_drop_ids() -> None:
    assert command_label(None, "help:claim:123456789012345678") == "help:claim"
    assert command_label(None, "checkin:status:42:stuck:followup") == "checkin:status"
    assert command_label("setup set", None) == "setup set"
    assert command_label(None, "12345:abc") == "other"
    assert command_label(None, None) == "other"
    assert command_label("Alice's command", None) == "other"


def test_failed_and_retried_jobs_count_as_failures_by_kind() -> None:
    metrics = Metrics()
    metrics.observe_job("checkin.followup", 12.0, RunReport(ran=1))
    metrics.observe_job("checkin.followup", -1.0, RunReport(retried=1))
    metrics.observe_job("help.escalate", 0.5, RunReport(failed=1))
    text = metrics.exposition().decode()
    assert 'porchlight_job_failures_total{kind="checkin.followup"} 1.0' in text
    assert 'porchlight_job_failures_total{kind="help.escalate"} 1.0' in text
    assert 'porchlight_job_lag_seconds_count{kind="checkin.followup"} 2.0' in text
    assert 'porchlight_job_lag_seconds_sum{kind="checkin.followup"} 12.0' in text  # early counts as 0
