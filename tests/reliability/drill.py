"""Failure drills: a load client that sends signed carrier texts and retries them as carriers do.

Each contact texts through one carrier (Twilio, or a mix of every carrier stopline hears).
Each contact's texts are sent in order by one client thread: the next one only after the
previous got a 2xx; a text without a 2xx (no connection, a reset, a 5xx) is sent again with the
same message id after a backoff. Every attempt is recorded, so a drill can say what was sent,
what was acknowledged and what failed while the server was down. Then the ledger is read back
and compared with a replay of the acknowledged texts through a fresh ConsentService.
"""

from __future__ import annotations

import http.client
import os
import random
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from bench.carrier_requests import CARRIERS, message_id
from core.config import Settings
from core.model import InboundMessage
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.db import Database
from ledger.tables import consent, consent_events, inbound_messages, review_items
from rules import RulesHolder
from stopline.wiring import migrate
from tests.integration.test_serve import (
    SENDER,
    Server,
    environment,
    message,
    post_twilio,
    sign,
    stop,
    stopline_command,
    wait_healthy,
)

Send = Callable[["Text"], tuple[int, str]]
# The carriers that answer a text in the HTTP response (TwiML, Plivo XML); the others' replies
# go through their APIs (off in the drills: no sending credentials are set).
REPLY_IN_RESPONSE = ("twilio", "plivo")

# Words a contact texts: opt-outs only while subscribed and opt-ins only while opted out, so
# every opt-out text must record exactly one opt-out event. Sender scope only: one text
# changes one consent row of one contact, and contacts are independent of each other.
OPT_OUT = ("STOP", "Stop please", "unsubscribe", "Who is this? STOP")
OPT_IN = ("START", "unstop", "YES")
OTHER = ("See you at 3", "HELP", "Can we stop by tomorrow?", "Cancel, I can't make it tomorrow")


@dataclass(frozen=True)
class Text:
    """One text from a contact to the test's SENDER, with the id its carrier gave it."""

    sid: str
    contact: str
    body: str
    carrier: str = "twilio"

    def params(self) -> dict[str, str]:
        """Twilio's form fields for this text."""
        return message(self.body, self.sid, self.contact)

    @property
    def opts_out(self) -> bool:
        """True for an opt-out keyword (sent only while the contact is subscribed)."""
        return self.body in OPT_OUT


@dataclass(frozen=True)
class Attempt:
    """One HTTP request for a text: its answer, or the error that came instead."""

    sid: str
    started: float  # time.time(), comparable with the server's timestamps
    ended: float
    status: int | None  # None when no HTTP answer came
    error: str | None  # the exception's class name when no HTTP answer came
    body: str

    @property
    def ok(self) -> bool:
        """True for a 2xx answer: Twilio stops retrying."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def kind(self) -> str:
        """The outcome in one word: '200', '503', 'ConnectionRefusedError', ..."""
        return self.error or str(self.status)


def contact_phone(n: int) -> str:
    """A valid North American number for contact n (0 <= n < 10000)."""
    return f"+1206555{n:04d}"


def sequences(
    contacts: int,
    length: int,
    *,
    first: int = 2000,
    seed: int = 4,
    carriers: Sequence[str] = ("twilio",),
) -> list[list[Text]]:
    """`contacts` contacts (from contact_phone(first)) each texting `length` texts.

    Contact n texts through carriers[n % len(carriers)], with ids in that carrier's format.
    """
    rng = random.Random(seed)
    result = []
    for n in range(first, first + contacts):
        carrier = carriers[n % len(carriers)]
        subscribed, texts = True, []
        for i in range(length):
            if rng.random() < 0.5:
                body = rng.choice(OPT_OUT if subscribed else OPT_IN)
                subscribed = not subscribed
            else:
                body = rng.choice(OTHER)
            texts.append(Text(message_id(carrier, n, i), contact_phone(n), body, carrier))
        result.append(texts)
    return result


def twilio_send(server: Server) -> Send:
    """Sign and POST to the server's hook; its base URL outlives a restart on the same port."""

    def send(text: Text) -> tuple[int, str]:
        params = text.params()
        return post_twilio(server, params, sign(server, params))

    return send


def carrier_send(server: Server) -> Send:
    """POST each text as its carrier delivers it, signed afresh on every attempt (timestamps)."""

    def send(text: Text) -> tuple[int, str]:
        made = CARRIERS[text.carrier](server.base, text.sid, text.contact, SENDER, text.body)
        request = urllib.request.Request(
            server.base + made.path, data=made.body, headers=made.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    return send


def crash(server: Server) -> None:
    """SIGKILL gunicorn's master and workers at once (its own process group): no clean-up."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)


def serve_again(old: Server, cwd: Path, **extra_env: str) -> Server:
    """`stopline serve` again on the same ledger and port (Twilio's URL), the log appended."""
    port = urllib.parse.urlsplit(old.base).port
    env = {**environment(cwd), **extra_env}
    with old.log.open("ab") as out:
        process = subprocess.Popen(
            [*stopline_command(), "serve", "--port", str(port), "--workers", "2"],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    server = Server(old.base, old.log, process)
    try:
        wait_healthy(server)
    except BaseException:
        stop(process)
        raise
    return server


class LoadClient:
    """Sends per-contact sequences from `threads` threads, retrying each text until a 2xx."""

    def __init__(
        self,
        send: Send,
        contacts: Sequence[Sequence[Text]],
        threads: int = 4,
        *,
        deadline: float = 90.0,
        backoff: tuple[float, float] = (0.05, 1.0),
    ) -> None:
        self.send = send
        self.contacts = contacts
        self.backoff = backoff
        self.deadline = deadline
        self.attempts: list[Attempt] = []
        self.acknowledged: dict[str, Attempt] = {}  # sid -> the attempt that got the 2xx
        self._lock = threading.Lock()
        self._in_flight = 0
        self._progress = threading.Condition(self._lock)
        self._paused = False
        self._stopping = threading.Event()
        self._aborted = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, args=(contacts[i::threads],), daemon=True)
            for i in range(threads)
        ]
        self._end = 0.0

    def start(self) -> LoadClient:
        """Start sending in the background."""
        self._end = time.monotonic() + self.deadline
        for thread in self._threads:
            thread.start()
        return self

    def run(self) -> dict[str, Any]:
        """Send everything and return the figures."""
        return self.start().join()

    def stop(self) -> None:
        """Send no new text; each thread still retries the one it has until it is answered."""
        self._stopping.set()

    def abort(self) -> None:
        """Give up at once, even on unanswered texts (a failed drill's clean-up), and wait.

        No thread is left retrying against a port a later test's server may listen on.
        """
        self._aborted.set()
        self._stopping.set()
        self.resume()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(15)

    def join(self) -> dict[str, Any]:
        """Wait for the threads (until the deadline) and return the figures."""
        for thread in self._threads:
            thread.join(max(0.0, self._end - time.monotonic()) + 15)
        return self.figures()

    def wait_acknowledged(self, count: int, timeout: float = 30.0) -> bool:
        """Wait until `count` texts got a 2xx; False on timeout."""
        with self._progress:
            return self._progress.wait_for(lambda: len(self.acknowledged) >= count, timeout)

    def pause(self, timeout: float = 15.0) -> None:
        """Start no new request, and wait until none is in flight."""
        with self._progress:
            self._paused = True
            self._progress.wait_for(lambda: self._in_flight == 0, timeout)

    def resume(self) -> None:
        """Go on after pause()."""
        with self._progress:
            self._paused = False
            self._progress.notify_all()

    def in_flight(self) -> int:
        """Requests sent and not yet answered."""
        with self._lock:
            return self._in_flight

    def moment_in_flight(self) -> float | None:
        """time.time() if a request is in flight now (its started <= it < its ended), else None."""
        with self._lock:  # attempts take their timestamps under this lock
            return time.time() if self._in_flight else None

    def figures(self) -> dict[str, Any]:
        """What was sent and what came back; the failures by kind."""
        with self._lock:
            attempts, acknowledged = list(self.attempts), dict(self.acknowledged)
        failures = Counter(a.kind for a in attempts if not a.ok)
        texts = [text for contact in self.contacts for text in contact]
        retried = {a.sid for a in attempts if not a.ok}
        return {
            "texts": len(texts),
            "sent": len(attempts),
            "acknowledged": len(acknowledged),
            "failed_attempts": sum(failures.values()),
            "connection_errors": sum(n for kind, n in failures.items() if not kind.isdigit()),
            "http_5xx": sum(n for kind, n in failures.items() if kind.startswith("5")),
            "failures_by_kind": dict(sorted(failures.items())),
            "texts_retried": len(retried),
            "unsent": sum(1 for text in texts if text.sid not in {a.sid for a in attempts}),
            "unacknowledged_after_sending": sorted(retried - set(acknowledged)),
        }

    def _work(self, contacts: Sequence[Sequence[Text]]) -> None:
        for text in _interleave(contacts):
            if self._stopping.is_set() or time.monotonic() > self._end:
                return
            self._deliver(text)

    def _deliver(self, text: Text) -> None:
        delay = self.backoff[0]
        while time.monotonic() < self._end and not self._aborted.is_set():
            attempt = self._attempt(text)
            if attempt.ok:
                return
            self._aborted.wait(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self.backoff[1])

    def _attempt(self, text: Text) -> Attempt:
        with self._progress:
            self._progress.wait_for(lambda: not self._paused)
            self._in_flight += 1
            started = time.time()
        status: int | None = None
        error: str | None = None
        body = ""
        try:
            status, body = self.send(text)
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out
            error = type(exc).__name__
            reason = getattr(exc, "reason", None)  # URLError wraps the socket's error
            if isinstance(reason, BaseException):
                error = type(reason).__name__
        with self._progress:
            attempt = Attempt(text.sid, started, time.time(), status, error, body)
            self._in_flight -= 1
            self.attempts.append(attempt)
            if attempt.ok:
                self.acknowledged[text.sid] = attempt
            self._progress.notify_all()
        return attempt


def _interleave(contacts: Sequence[Sequence[Text]]) -> Iterator[Text]:
    """Round-robin over the contacts: each contact's texts in order, contacts mixed."""
    longest = max((len(c) for c in contacts), default=0)
    for i in range(longest):
        for texts in contacts:
            if i < len(texts):
                yield texts[i]


# --- The ledger afterwards --------------------------------------------------------------------

Row = tuple[Any, ...]


@dataclass
class Ledger:
    """What a ledger holds for some contacts, without ids and timestamps, by MessageSid."""

    messages: dict[str, list[Row]]  # inbound_messages: (contact, transition, rule, reply)
    events: dict[str, list[Row]]  # consent_events: (contact, action, scope, previous, new, ...)
    reviews: dict[str, list[Row]]  # review_items: (contact, status, phrase)
    consent: set[Row]  # consent rows: (contact, scope_key, status, source, actor, rule, ...)


def read_ledger(url: str, contacts: Iterable[str]) -> Ledger:
    """Read the ledger at `url` (SQLite or PostgreSQL) for these contacts."""
    phones = sorted(set(contacts))
    engine = create_engine(url)
    m, e, r, c = inbound_messages.c, consent_events.c, review_items.c, consent.c
    try:
        with engine.connect() as conn:
            messages = conn.execute(
                select(m.message_id, m.contact, m.transition, m.rule, m.reply)
                .where(m.contact.in_(phones)).order_by(m.id)
            ).all()  # fmt: skip
            events = conn.execute(
                select(e.carrier_message_id, e.contact, e.action, e.scope, e.previous_status,
                       e.new_status, e.keyword, e.rule, e.rules_version)
                .where(e.contact.in_(phones)).order_by(e.id)
            ).all()  # fmt: skip
            reviews = conn.execute(
                select(r.carrier_message_id, r.contact, r.status, r.phrase)
                .where(r.contact.in_(phones)).order_by(r.id)
            ).all()  # fmt: skip
            rows = conn.execute(
                select(c.contact, c.scope_key, c.status, c.source, c.actor, c.rule, c.keyword,
                       c.message_text).where(c.contact.in_(phones))
            ).all()  # fmt: skip
    finally:
        engine.dispose()
    return Ledger(_by_sid(messages), _by_sid(events), _by_sid(reviews), {tuple(x) for x in rows})


def _by_sid(rows: Iterable[Row]) -> dict[str, list[Row]]:
    found: dict[str, list[Row]] = defaultdict(list)
    for sid, *rest in rows:
        found[str(sid)].append(tuple(rest))
    return dict(found)


def replay(texts: Iterable[Text], url: str, rules: Path) -> dict[str, str | None]:
    """Run texts in order through a fresh ConsentService on a new ledger; the replies by sid."""
    migrate(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    database = Database(url, synchronous="OFF")  # scratch: speed over durability
    holder = RulesHolder(rules)
    service = ConsentService(SqlLedger(database), holder)
    replies: dict[str, str | None] = {}
    try:
        for text in texts:
            received = InboundMessage(
                text.carrier, text.sid, text.contact, SENDER, text.body, datetime.now(UTC)
            )
            replies[text.sid] = service.receive_message(received).reply
    finally:
        holder.close()
        database.dispose()
    return replies


def twiml_reply(body: str) -> str | None:
    """The text of a TwiML (or Plivo XML) answer's <Message>, None when it has none."""
    found = ET.fromstring(body).find("Message")
    return None if found is None else found.text


def answered_reply(text: Text, body: str) -> str | None:
    """The reply a carrier was given in the HTTP answer; None for the others (an empty 200)."""
    return twiml_reply(body) if text.carrier in REPLY_IN_RESPONSE else (body or None)


def check_ledger(client: LoadClient, served_url: str, scratch: Path, rules: Path) -> dict[str, Any]:
    """Compare the served ledger with a replay of the acknowledged texts, in each contact's order.

    lost: acknowledged, but not stored or missing an event or review the replay made.
    duplicated: stored twice, or more events or reviews than the replay made.
    """
    texts = [t for contact in client.contacts for t in contact if t.sid in client.acknowledged]
    replies = replay(texts, f"sqlite:///{scratch}", rules)
    phones = {t.contact for t in texts}
    served, expected = read_ledger(served_url, phones), read_ledger(f"sqlite:///{scratch}", phones)
    sids = [t.sid for t in texts]

    def count(table: dict[str, list[Row]], sid: str) -> int:
        return len(table.get(sid, []))

    lost = [sid for sid in sids if count(served.messages, sid) == 0
            or count(served.events, sid) < count(expected.events, sid)
            or count(served.reviews, sid) < count(expected.reviews, sid)]  # fmt: skip
    stored_sids = set(served.messages) | set(served.events) | set(served.reviews)
    duplicated = [sid for sid in sorted(stored_sids) if count(served.messages, sid) > 1
                  or count(served.events, sid) > max(1, count(expected.events, sid))
                  or count(served.reviews, sid) > count(expected.reviews, sid)]  # fmt: skip
    differing = [sid for sid in sids if (served.messages.get(sid), served.events.get(sid),
                 served.reviews.get(sid)) != (expected.messages.get(sid),
                 expected.events.get(sid), expected.reviews.get(sid))]  # fmt: skip
    stops = [t.sid for t in texts if t.opts_out]
    return {
        "stored": sum(1 for sid in sids if sid in served.messages),
        "stored_unacknowledged": len(set(served.messages) - set(sids)),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "acknowledged_opt_outs": len(stops),
        "opt_outs_without_one_event": sum(
            1 for sid in stops if [e[1] for e in served.events.get(sid, [])] != ["opt_out"]
        ),
        "differing_from_replay": len(differing),
        "consent_rows": len(served.consent),
        "consent_equals_replay": served.consent == expected.consent,
        "wrong_replies": sum(
            1 for t in texts if answered_reply(t, client.acknowledged[t.sid].body)
            != (replies[t.sid] if t.carrier in REPLY_IN_RESPONSE else None)
        ),
        "examples": {"lost": lost[:5], "duplicated": duplicated[:5], "differing": differing[:5]},
    }
