"""Prometheus metrics: a per-app registry in one process, or files shared by gunicorn's workers."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from core.errors import DatabaseUnavailable
from core.model import Outcome
from core.ports import RulesInfo

# The directory every process of `stopline serve` writes its metric files to (None: per app).
_shared_dir: Path | None = None
_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Rules counters kept as per-process gauges and shown as counters of the largest value: each
# worker inherits the master's count at fork and sees the same file changes, so a sum would
# count one change once per process.
_MAX_AS_COUNTER = ("stopline_rules_reloads", "stopline_rules_reload_failures")
_RULES_HELP = {
    "stopline_rules_reloads": "Rules files loaded after a change since start.",
    "stopline_rules_reload_failures": "Changed rules files refused (old rules kept).",
    "stopline_rules_info": "The rules in force.",
    "stopline_rules_loaded_timestamp_seconds": "When the rules in force were loaded.",
}


# From a hook's few milliseconds to a long export.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
DATABASE_ERROR_KINDS = (*DatabaseUnavailable.KINDS, "integrity", "other")


def use_process_files(directory: Path | None) -> None:
    """Record counters in files under `directory`, merged at scrape; None: per app."""
    global _shared_dir
    if directory is None:
        os.environ.pop(_ENV, None)
        values.close_all_multiprocess_files()  # the files' mmaps, or they leak unclosed
        values.ValueClass = values.MutexValue
    else:
        os.environ[_ENV] = str(directory)  # read by prometheus_client when it opens a file
        # prometheus_client picks its value class once, at import, which may have happened.
        values.ValueClass = values.MultiProcessValue()
    _shared_dir = directory


def process_gone(pid: int) -> None:
    """Forget a dead worker's live gauges (its counters still count)."""
    if _shared_dir is not None:
        mark_process_dead(pid, str(_shared_dir))


def _rules_state(rules: RulesInfo) -> tuple[str, str, float, float, float]:
    loaded_at = rules.loaded_at
    return (
        str(rules.version or ""),
        str(rules.backend or ""),
        float(rules.reloads or 0),
        float(rules.failures or 0),
        loaded_at.timestamp() if isinstance(loaded_at, datetime) else 0.0,
    )


class RulesCollector(Collector):
    """Reads the rules holder's counters at scrape time instead of copying them."""

    def __init__(self, rules: RulesInfo) -> None:
        self._rules = rules

    def collect(self) -> Iterator[Metric]:
        """Yield the rules' reloads, failures, load time and version."""
        version, backend, reloads, failures, loaded = _rules_state(self._rules)
        for name, value in zip(_MAX_AS_COUNTER, (reloads, failures), strict=True):
            yield CounterMetricFamily(name, _RULES_HELP[name], value=value)
        info = GaugeMetricFamily(
            "stopline_rules_info", _RULES_HELP["stopline_rules_info"], labels=["version", "backend"]
        )
        info.add_metric([version, backend], 1.0)
        yield info
        if loaded:
            name = "stopline_rules_loaded_timestamp_seconds"
            yield GaugeMetricFamily(name, _RULES_HELP[name], value=loaded)


class SharedRulesGauges:
    """One process's rules state, written to its metric files (made in the worker that uses it)."""

    def __init__(self) -> None:
        self.reloads, self.failures = (
            Gauge(name, _RULES_HELP[name], multiprocess_mode="max", registry=None)
            for name in _MAX_AS_COUNTER
        )
        # liveall: one row per live process (a pid label), gone when gunicorn reaps it.
        self.info = Gauge(
            "stopline_rules_info",
            _RULES_HELP["stopline_rules_info"],
            ["version", "backend"],
            multiprocess_mode="liveall",
            registry=None,
        )
        name = "stopline_rules_loaded_timestamp_seconds"
        self.loaded = Gauge(name, _RULES_HELP[name], multiprocess_mode="liveall", registry=None)
        self.shown: tuple[str, str, float, float, float] | None = None

    def publish(self, rules: RulesInfo) -> None:
        """Write the rules' state when it changed since the last write."""
        state = _rules_state(rules)
        if state == self.shown:
            return
        if self.shown is not None and self.shown[:2] != state[:2]:
            self.info.labels(*self.shown[:2]).set(0)  # files keep a row; 0 hides it at scrape
        self.info.labels(*state[:2]).set(1)
        self.reloads.set(state[2])
        self.failures.set(state[3])
        self.loaded.set(state[4])
        self.shown = state


class SharedCollector(Collector):
    """Every process's metric files merged, the rules' rows shown as in one process."""

    def __init__(self, directory: Path) -> None:
        self._files = MultiProcessCollector(None, path=str(directory))

    def collect(self) -> Iterator[Metric]:
        """Yield the merged metrics."""
        for metric in self._files.collect():
            if metric.name in _MAX_AS_COUNTER:
                total = max((sample.value for sample in metric.samples), default=0.0)
                yield CounterMetricFamily(metric.name, _RULES_HELP[metric.name], value=total)
                continue
            if metric.name in ("stopline_rules_info", "stopline_rules_loaded_timestamp_seconds"):
                metric.samples = [sample for sample in metric.samples if sample.value]
            yield metric


class Metrics:
    """The counters the web layer updates, on their own registry or in shared files."""

    content_type = "text/plain; version=0.0.4; charset=utf-8"

    def __init__(self, rules: RulesInfo) -> None:
        self._rules = rules
        self._shared = _shared_dir
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "stopline_http_requests",
            "HTTP requests by route, method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "stopline_http_request_duration_seconds",
            "Time to answer an HTTP request by route and method (a streamed export: until "
            "its last byte was handed to the server).",
            ["endpoint", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.database_errors = Counter(
            "stopline_database_errors",
            "Requests answered with an error because of the database, by kind.",
            ["kind"],
            registry=self.registry,
        )
        for kind in DATABASE_ERROR_KINDS:  # every kind shows, at 0, from the first scrape
            self.database_errors.labels(kind)
        self.decisions = Counter(
            "stopline_decisions",
            "Consent decisions made through the web, by transition and source.",
            ["transition", "source"],
            registry=self.registry,
        )
        self.outbox_replies = Counter(
            "stopline_outbox_replies",
            "Replies sent through a carrier's messaging API, by what became of an attempt "
            "(sent, retried, dropped).",
            ["outcome"],
            registry=self.registry,
        )
        if self._shared is None:
            self.registry.register(RulesCollector(rules))
        # Made on first use, so the master (which never serves) writes no files of its own.
        self._gauges: SharedRulesGauges | None = None
        self._lock = threading.Lock()

    def request(self, endpoint: str, method: str, status: int) -> None:
        """Count one answered request (labels already bounded by web.request_metrics)."""
        self.requests.labels(endpoint, method, str(status)).inc()
        self._publish_rules()

    def duration(self, endpoint: str, method: str, seconds: float) -> None:
        """Observe how long one request took."""
        self.latency.labels(endpoint, method).observe(max(seconds, 0.0))

    def database_error(self, kind: str) -> None:
        """Count a request that failed on the database (one of DATABASE_ERROR_KINDS)."""
        self.database_errors.labels(kind).inc()

    def decision(self, outcome: Outcome, source: str) -> None:
        """Count one decision (a carrier's retry is not a new decision)."""
        if not outcome.duplicate:
            self.decisions.labels(str(outcome.decision.transition), source).inc()

    def outbox(self, outcome: str) -> None:
        """Count what became of one outbox attempt: "sent", "retried" or "dropped"."""
        self.outbox_replies.labels(outcome).inc()

    def render(self) -> bytes:
        """The exposition text: this app's, or every process's under `stopline serve`."""
        if self._shared is None:
            return generate_latest(self.registry)
        self._publish_rules()
        registry = CollectorRegistry()
        registry.register(SharedCollector(self._shared))
        return generate_latest(registry)

    def _publish_rules(self) -> None:
        # A worker reloads its rules during a request: its files are current once that request
        # is counted. The lock makes the last write the newest state read.
        if self._shared is None:
            return
        with self._lock:
            if self._gauges is None:
                self._gauges = SharedRulesGauges()
            self._gauges.publish(self._rules)
