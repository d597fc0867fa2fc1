"""Bulk work on the ledger: loading an existing opt-out list in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from itertools import islice

from core.columns import PHONE_KEYS, REASON_KEYS, SENDER_KEYS, SINCE_KEYS
from core.dates import parse_moment
from core.errors import DatabaseUnavailable, InvalidInput, InvalidPhoneNumber
from core.model import (
    ACCOUNT,
    Actor,
    Command,
    Decision,
    DecisionRequest,
    ImportSummary,
    Scope,
    ScopeState,
    Transition,
)
from core.phone import normalize_phone, normalize_sender
from core.planning import Context, plan
from core.ports import Decider, Ledger
from core.recording import request_for, scope_state
from core.records import ConsentWrite, EventRecord
from core.text import clean_name, clean_reason

CHUNK = 2000
MAX_ERRORS = 1000


class FileRow(dict[str, str]):
    """A row read from a file, with the line it starts on (its problems name that line)."""

    line: int = 0


def _numbered(
    rows: Iterable[Mapping[str, str | None]],
) -> Iterator[tuple[int, Mapping[str, str | None]]]:
    # Plain mappings are numbered as a file's lines after its header (row 1).
    for number, row in enumerate(rows, start=2):
        yield (row.line if isinstance(row, FileRow) and row.line else number), row


def _field(row: Mapping[str, str | None], *keys: str) -> str:
    for key in keys:
        value = row.get(key)
        if value is not None and value.strip():
            return value.strip()
    return ""


def _parse_time(text: str, now: datetime) -> datetime | None:
    if not text:
        return None
    parsed = parse_moment(text)
    if parsed > now:
        raise InvalidInput(f'"{text[:40]}" is in the future: an opt-out date must be in the past')
    return parsed


def import_optouts(
    ledger: Ledger,
    decider: Decider,
    rows: Iterable[Mapping[str, str | None]],
    actor: Actor,
    *,
    region: str,
    clock: Callable[[], datetime],
    progress: Callable[[int], None] | None = None,
    dry_run: bool = False,
) -> ImportSummary:
    """Load an opt-out list in chunks; each row is decided by the rules like an agent's opt-out.

    Each chunk is committed on its own: when `rows` ends early (a file that stops part way),
    every row before is stored and counted; when the ledger fails, the summary counts the
    chunks stored and `failed_at` names the first line not stored. A dry run writes nothing.
    """
    taken = skipped = invalid = 0
    errors: list[str] = []
    problems: list[tuple[int, str]] = []
    actor = Actor(actor.source, clean_name(actor.name))
    senders: dict[str, str] = {}  # a list names few senders: each is parsed once
    numbered = _numbered(rows)
    # A dry run keeps what it would have stored, so later chunks see it as a real run would.
    planned: dict[str, dict[str, ScopeState]] | None = {} if dry_run else None
    while chunk := list(islice(numbered, CHUNK)):
        before = (skipped, invalid, len(errors))  # what the chunk adds counts once it is stored
        parsed: list[tuple[str, str | None, str | None, datetime | None]] = []
        # Repeats are looked for within a chunk only, so memory stays flat however long the
        # file: a repeat in a later chunk finds its opt-out already stored and is skipped.
        seen: set[tuple[str, str]] = set()
        now = clock()
        for line, row in chunk:
            if not any(value and value.strip() for value in row.values()):
                continue  # a blank line is nothing to import, not an invalid row
            try:
                contact = normalize_phone(_field(row, *PHONE_KEYS), region)
                sender_raw = _field(row, *SENDER_KEYS)
                sender = _sender(senders, sender_raw, region) if sender_raw else None
                since = _parse_time(_field(row, *SINCE_KEYS), now)
                reason = clean_reason(_field(row, *REASON_KEYS)) or None
            except (InvalidPhoneNumber, InvalidInput) as exc:
                invalid += 1
                if len(errors) < MAX_ERRORS:
                    errors.append(f"row {line}: {exc.message}")
                    problems.append((line, exc.message))
                continue
            key = (contact, sender or ACCOUNT)
            if key in seen:
                skipped += 1
                continue
            seen.add(key)
            parsed.append((contact, sender, reason, since))
        try:
            done, passed = _import_chunk(ledger, decider, parsed, actor, clock, planned)
        except DatabaseUnavailable as exc:
            # Earlier chunks are committed; this one is not. Say so, not "nothing was stored".
            skipped, invalid, listed = before
            del errors[listed:], problems[listed:]
            return ImportSummary(
                taken=taken, skipped=skipped, invalid=invalid, errors=errors,
                problems=problems, failed_at=(chunk[0][0], exc.detail),
            )  # fmt: skip
        taken += done
        skipped += passed
        if progress is not None:
            progress(len(chunk))
    return ImportSummary(
        taken=taken, skipped=skipped, invalid=invalid, errors=errors, problems=problems
    )


def _sender(known: dict[str, str], raw: str, region: str) -> str:
    sender = known.get(raw)
    if sender is None:
        sender = normalize_sender(raw, region)
        if len(known) < 1000:
            known[raw] = sender
    return sender


def _import_chunk(
    ledger: Ledger,
    decider: Decider,
    parsed: list[tuple[str, str | None, str | None, datetime | None]],
    actor: Actor,
    clock: Callable[[], datetime],
    planned: dict[str, dict[str, ScopeState]] | None = None,
) -> tuple[int, int]:
    """Decide and store one chunk; with `planned` (a dry run) only decide, in a read."""
    if not parsed:
        return 0, 0
    contacts = sorted({p[0] for p in parsed})
    scopes: list[ConsentWrite] = []
    events: list[EventRecord] = []
    taken = skipped = 0
    decisions: dict[DecisionRequest, Decision] = {}
    with ledger.import_chunk(contacts, write=planned is None) as chunk:
        current = chunk.scope_rows_of(contacts)
        if planned is not None:
            for contact in contacts:
                current.setdefault(contact, {}).update(planned.get(contact, {}))
        now = clock()
        for contact, sender, reason, since in parsed:
            rows = current.setdefault(contact, {})
            scope = Scope.SENDER if sender else Scope.ACCOUNT
            request = request_for(rows, actor.source, sender, command=Command.OPT_OUT)
            # Most rows of a list share the same facts; the rules' answer for a fact set is
            # asked once per chunk instead of once per row.
            decision = decisions.get(request)
            if decision is None:
                decision = decisions[request] = decider.decide(request)
            if decision.transition is not Transition.OPT_OUT:
                skipped += 1
                continue
            ctx = Context(
                contact, sender, actor.source, actor.name, now, reason=reason, scope=scope
            )
            steps = plan(rows, decision, ctx)
            for scope_row in steps.scopes:
                scope_row.since = since or now
            scopes.extend(steps.scopes)
            events.extend(steps.events)
            taken += 1
        if planned is not None:
            for row in scopes:  # seen by the next chunks, as the stored rows would be
                planned.setdefault(row.contact, {})[row.scope_key] = scope_state(row)
            return taken, skipped
        chunk.store(events, scopes)
    return taken, skipped
