"""Drill: two `stopline serve` instances on one PostgreSQL, racing STOP and START for the same
contacts.

Two real servers (2 workers each) share a throwaway cluster. Client threads send bursts of
texts for one contact at a time (STOP, START, UNSTOP, YES, STOPALL, ordinary words), each text
to either instance at random, so the same contact's texts are handled at once by different
processes, and each text through one of the six carriers at random (each signed as its carrier
signs). Afterwards every text must have been answered 200 and stored once, logged at most
once per scope, and each contact's events must form an unbroken chain (each event's
previous_status is the new_status before it: no lost update) ending in the consent row.
"""

from __future__ import annotations

import os
import queue
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from bench.carrier_requests import CARRIERS, ENVIRONMENT, fresh_id
from core.carrier_settings import CARRIER_NAMES
from ledger.tables import consent, consent_events, inbound_messages
from tests.integration.test_serve import OTHER_SENDER, SENDER, Server, start_server, stop
from tests.reliability.pgcluster import PgCluster, pg_cluster
from tests.reliability.test_database_gone import CARRIER_TIMEOUT

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
__all__ = ["pg_cluster"]  # the fixture, imported for pytest to find

CONTACTS = 50
BURSTS = 600  # each: 2 to 4 texts from one contact, taken at once by different threads
THREADS = 8
TWINS = 20  # MessageSids sent to both instances at the same moment
ACCOUNT = "*"
# Opt-outs weigh more than opt-ins so both states stay common; ordinary text changes nothing
# (or opens a review), and must not break a chain either.
BODIES = {
    "STOP": 4, "Stop please": 1, "STOPALL": 1, "START": 2, "UNSTOP": 1, "YES": 1,
    "See you at 3": 1, "Cancel, I can't make it tomorrow": 1,
}  # fmt: skip


@dataclass(frozen=True)
class Sent:
    params: dict[str, str]
    instance: int
    status: int
    body: str
    sent: float
    done: float


@pytest.fixture
def servers(pg_cluster: PgCluster, tmp_path: Path) -> Iterator[list[Server]]:
    """Two `stopline serve` on the cluster (the second `db upgrade` finds nothing to do)."""
    running: list[Server] = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            running.append(start_server(tmp_path / name, STOPLINE_DATABASE_URL=pg_cluster.url,
                                        **ENVIRONMENT))  # fmt: skip
        yield running
    finally:
        for server in running:
            stop(server.process)


def text(contact: str, body: str, sender: str = SENDER, carrier: str = "twilio"
         ) -> dict[str, str]:  # fmt: skip
    """A text through `carrier`, with a message id in its format never used before."""
    sid = fresh_id(carrier)
    return {"From": contact, "To": sender, "Body": body, "MessageSid": sid, "Carrier": carrier}


def deliver(server: Server, params: dict[str, str]) -> tuple[int, str]:
    """POST the text as its carrier does, signed; status 0 when no answer came in time."""
    made = CARRIERS[params["Carrier"]](server.base, params["MessageSid"], params["From"],
                                       params["To"], params["Body"])  # fmt: skip
    request = urllib.request.Request(server.base + made.path, data=made.body,
                                     headers=made.headers, method="POST")  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=CARRIER_TIMEOUT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, OSError) as error:
        return 0, f"no answer: {error}"


def bursts(rng: random.Random) -> list[list[tuple[int, dict[str, str]]]]:
    """Bursts of (instance, text) for one contact each; senders and instances at random."""
    contacts = [f"+1415555{1000 + n:04d}" for n in range(CONTACTS)]
    words, weights = list(BODIES), list(BODIES.values())
    return [
        [(rng.randrange(2), text(contact, body, rng.choice((SENDER, OTHER_SENDER)),
                                 rng.choice(CARRIER_NAMES)))
         for body in rng.choices(words, weights, k=rng.randint(2, 4))]
        for contact in rng.choices(contacts, k=BURSTS)
    ]  # fmt: skip


def race(servers: list[Server], jobs: list[list[tuple[int, dict[str, str]]]]) -> list[Sent]:
    """Send every text from THREADS threads; a burst's texts are taken one after the other."""
    work: queue.SimpleQueue[tuple[int, dict[str, str]]] = queue.SimpleQueue()
    for burst in jobs:
        for job in burst:
            work.put(job)
    answers: list[Sent] = []

    def send() -> None:
        while True:
            try:
                instance, params = work.get_nowait()
            except queue.Empty:
                return
            sent = time.monotonic()
            status, body = deliver(servers[instance], params)
            answers.append(Sent(params, instance, status, body, sent, time.monotonic()))

    threads = [threading.Thread(target=send, daemon=True) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return answers


def overlaps(answers: list[Sent]) -> int:
    """Pairs of one contact's texts that were in flight at the same time."""
    by_contact: dict[str, list[Sent]] = defaultdict(list)
    for answer in answers:
        by_contact[answer.params["From"]].append(answer)
    found = 0
    for texts in by_contact.values():
        texts.sort(key=lambda a: a.sent)
        for i, first in enumerate(texts):
            found += sum(1 for later in texts[i + 1 :] if later.sent < first.done)
    return found


def both_at_once(servers: list[Server], params: dict[str, str]) -> list[tuple[int, str]]:
    """The same text (one MessageSid) to both instances at the same moment; both answers."""
    start = threading.Barrier(2)
    found = [(0, "no answer"), (0, "no answer")]

    def send(instance: int) -> None:
        start.wait(10)
        found[instance] = deliver(servers[instance], params)

    pair = [threading.Thread(target=send, args=(i,), daemon=True) for i in (0, 1)]
    for thread in pair:
        thread.start()
    for thread in pair:
        thread.join(30)
    return found


def twins(servers: list[Server]) -> list[tuple[tuple[int, str], tuple[int, str], str]]:
    """TWINS fresh contacts' STOPs, each sent to both instances at once; answers and sid."""
    results = []
    for n in range(TWINS):
        params = text(f"+1617555{1000 + n:04d}", "STOP", carrier=CARRIER_NAMES[n % 6])
        first, second = both_at_once(servers, params)
        results.append((first, second, params["MessageSid"]))
    return results


def scope_key(scope: str, sender: str | None) -> str:
    return ACCOUNT if scope == "account" else str(sender)


def test_two_instances_race_stop_and_start(servers: list[Server], pg_cluster: PgCluster) -> None:
    seed = int(os.environ.get("STOPLINE_DRILL_SEED", random.randrange(2**32)))
    started = time.monotonic()
    jobs = bursts(random.Random(seed))
    answers = race(servers, jobs)
    elapsed = time.monotonic() - started
    pairs = twins(servers)
    outputs = [server.output() for server in servers]

    engine = create_engine(pg_cluster.url)
    e = consent_events.c
    try:
        with engine.connect() as conn:
            stored = Counter(conn.execute(select(inbound_messages.c.message_id)).scalars())
            events = conn.execute(
                select(e.carrier_message_id, e.contact, e.scope, e.sender, e.previous_status,
                       e.new_status).order_by(e.id)
            ).all()  # fmt: skip
            rows = {(r.contact, r.scope_key): r.status for r in conn.execute(select(consent))}
    finally:
        engine.dispose()

    per_scope = Counter((ev.carrier_message_id, scope_key(ev.scope, ev.sender)) for ev in events)
    duplicates = sum(n - 1 for n in per_scope.values())
    chains: dict[tuple[str, str], list[str]] = {}
    breaks = []
    for ev in events:
        if ev.new_status is None:  # a review opened: no status changes
            continue
        key = (ev.contact, scope_key(ev.scope, ev.sender))
        chain = chains.setdefault(key, ["subscribed"])  # no row yet reads as subscribed
        if ev.previous_status != chain[-1]:
            breaks.append((key, chain[-1], ev.previous_status, ev.carrier_message_id))
        chain.append(ev.new_status)
    final_mismatch = {key: (rows.get(key), chain[-1]) for key, chain in chains.items()
                      if rows.get(key) != chain[-1]}  # fmt: skip
    rows_without_events = set(rows) - set(chains)
    statuses = Counter(a.status for a in answers)
    sids = [a.params["MessageSid"] for a in answers]
    twin_mismatch = [sid for first, second, sid in pairs if first != second]
    twin_events = Counter(ev.carrier_message_id for ev in events)
    print(
        f"\n[two instances, one database] seed {seed}: requests {len(answers)} in {elapsed:.1f} s "
        f"({len(answers) / elapsed:.0f}/s, by instance {dict(Counter(a.instance for a in answers))}"
        f"), 200s {statuses[200]}, errors {len(answers) - statuses[200]} {dict(statuses)}, "
        f"same-contact texts in flight together {overlaps(answers)}, events {len(events)}, "
        f"duplicates {duplicates}, chain breaks {len(breaks)}, final rows differing "
        f"{len(final_mismatch)}, consent rows {len(rows)}; same sid to both instances: "
        f"{len(pairs)} pairs, {len(twin_mismatch)} different answers, "
        f"events per sid {sorted(Counter(twin_events[sid] for *_, sid in pairs).items())}"
    )
    assert statuses == Counter({200: len(answers)}), dict(statuses)
    assert len(answers) == sum(map(len, jobs)), "a client thread hung"
    assert all(stored[sid] == 1 for sid in sids), "a text not stored, or stored twice"
    assert duplicates == 0, [k for k, n in per_scope.items() if n > 1][:5]
    assert not breaks, breaks[:5]
    assert not final_mismatch, list(final_mismatch.items())[:5]
    assert not rows_without_events, sorted(rows_without_events)[:5]
    assert all(first[0] == 200 for first, _, _ in pairs), pairs[:3]
    assert not twin_mismatch, twin_mismatch[:5]
    assert all(stored[sid] == 1 and twin_events[sid] == 1 for *_, sid in pairs)
    for output in outputs:
        assert "unexpected error" not in output, output[-4000:]
