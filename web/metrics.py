"""Prometheus metrics on a per-app registry (so tests can build many apps in one process)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.model import Outcome


class RulesCollector(Collector):
    """Reads the rules holder's counters at scrape time instead of copying them."""

    def __init__(self, rules: Any) -> None:
        self._rules = rules

    def collect(self) -> Iterator[Metric]:
        """Yield the rules' reloads, failures, load time and version."""
        reloads = CounterMetricFamily(
            "stopline_rules_reloads", "Rules files loaded after a change since start."
        )
        reloads.add_metric([], float(getattr(self._rules, "reloads", 0) or 0))
        yield reloads
        failures = CounterMetricFamily(
            "stopline_rules_reload_failures", "Changed rules files refused (old rules kept)."
        )
        failures.add_metric([], float(getattr(self._rules, "failures", 0) or 0))
        yield failures
        info = GaugeMetricFamily(
            "stopline_rules_info", "The rules in force.", labels=["version", "backend"]
        )
        version = str(getattr(self._rules, "version", "") or "")
        info.add_metric([version, str(getattr(self._rules, "backend", "") or "")], 1.0)
        yield info
        loaded_at = getattr(self._rules, "loaded_at", None)
        if isinstance(loaded_at, datetime):
            loaded = GaugeMetricFamily(
                "stopline_rules_loaded_timestamp_seconds", "When the rules in force were loaded."
            )
            loaded.add_metric([], loaded_at.timestamp())
            yield loaded


class Metrics:
    """The counters the web layer updates, on their own registry."""

    content_type = "text/plain; version=0.0.4; charset=utf-8"

    def __init__(self, rules: Any) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "stopline_http_requests",
            "HTTP requests by route, method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "stopline_decisions",
            "Consent decisions made through the web, by transition and source.",
            ["transition", "source"],
            registry=self.registry,
        )
        self.registry.register(RulesCollector(rules))

    def request(self, endpoint: str, method: str, status: int) -> None:
        """Count one answered request."""
        self.requests.labels(endpoint, method, str(status)).inc()

    def decision(self, outcome: Outcome, source: str) -> None:
        """Count one decision (a carrier's retry is not a new decision)."""
        if not outcome.duplicate:
            self.decisions.labels(str(outcome.decision.transition), source).inc()

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)
