"""The service layer: the one door to the ledger for the web hook, the API, the bot and the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from core import bulk, reviews
from core.carrier_reports import Reporting, flagged, record_opt_out, refusal_meaning
from core.carriers import id_format, opted_out_meaning
from core.dates import check_window
from core.errors import DuplicateMessage, NotFound
from core.model import (
    ACCOUNT,
    Actor,
    CheckResult,
    Command,
    ConsentStatus,
    DeliveryStatus,
    ImportSummary,
    InboundMessage,
    Outcome,
    Scope,
    Source,
)
from core.phone import carrier_number, normalize_phone, normalize_sender, region_of
from core.planning import Context, refusal
from core.ports import Clock, CsvChunks, Decider, Ledger
from core.recording import consent_status, record, replayed, request_for
from core.records import ConsentEvent, MessageRecord, OutboxRecord, ReviewItem
from core.sendcheck import split_numbers
from core.text import clean_name, clean_reason, clean_text


def _nothing() -> None:
    return None


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class ConsentService:
    """Consent actions and questions; each action is one transaction under the contact's lock."""

    def __init__(
        self, ledger: Ledger, decider: Decider, *, region: str = "US", clock: Clock = utcnow
    ) -> None:
        self.ledger = ledger
        self.decider = decider
        self.region = region
        self.clock = clock
        # Called after a commit that queued a reply in the outbox (the wiring points it at the
        # sending worker's wake-up); the worker also polls, so a missed call only delays.
        self.replies_queued: Callable[[], None] = _nothing

    def receive_message(self, message: InboundMessage) -> Outcome:
        """Decide and record a contact's text; a retried carrier message gets the first answer."""
        # Whatever shape a carrier gives its numbers, the text is recorded (a refusal would
        # lose its STOP): the keys are E.164 when there is one, the text as received is kept.
        # A contact written nationally (07700 900123) is read in the region of the number
        # texted (+44…): a UK business's contacts are not read as if they were American.
        texted = carrier_number(message.sender, self.region)
        contact = carrier_number(message.contact, region_of(texted.e164, self.region)).key
        sender = texted.key
        # Every carrier's ids have a declared format (core/carriers.py), whichever door it is.
        id_format(message.carrier).check(message.message_id)
        message = replace(
            message,
            contact=clean_text(message.contact) or "",
            sender=clean_text(message.sender) or "",
            body=clean_text(message.body) or "",
        )
        try:
            return self._receive(message, contact, sender)
        except DuplicateMessage:
            # Two deliveries of one message raced past the lookup; the first one won.
            return self._receive(message, contact, sender)

    def _receive(self, message: InboundMessage, contact: str, sender: str) -> Outcome:
        # The text is matched before the contact's write lock is taken: matching is the
        # costly part of a decision and needs no stored state; inside, only the facts from
        # the stored rows are decided, so a long text never holds up other STOPs.
        matched = self.decider.match(message.body)
        with self.ledger.contact(contact) as cursor:
            prior = cursor.find_message(message.carrier, message.message_id)
            if prior is not None:
                return replayed(cursor, prior, contact, sender, self.decider.version)
            rows = cursor.scope_rows(contact)
            request = request_for(rows, Source.CONTACT, sender, text=message.body)
            decision, reason = self.decider.decide(request, matched), None
            if message.flag is not None:
                decision, reason = flagged(
                    self.decider, message.carrier, message.flag, request, decision
                )
            ctx = Context(
                contact=contact,
                sender=sender,
                source=Source.CONTACT,
                actor=message.carrier,
                now=self.clock(),
                text=message.body,
                carrier=message.carrier,
                carrier_message_id=message.message_id,
                contact_received=message.contact,
                sender_received=message.sender,
                reason=reason,
            )
            outcome, _ = record(cursor, rows, decision, ctx)
            cursor.add_message(MessageRecord.answered(message, contact, sender, outcome))
            queued = message.reply_by_api and outcome.reply is not None
            if queued:
                # In the decision's transaction: a crash can lose neither the decision nor
                # its confirmation, and the UNIQUE (carrier, message_id) allows one per text.
                cursor.add_reply(OutboxRecord(message.carrier, message.message_id,
                                              message.sender, message.contact,
                                              outcome.reply or "", ctx.now))  # fmt: skip
        if queued:
            self.replies_queued()
        return outcome

    def _ctx(self) -> Reporting:
        return Reporting(self.ledger, self.decider, self.clock, self.region)

    def receive_status(self, status: DeliveryStatus) -> Outcome | None:
        """Record a carrier's "recipient opted out" as the contact's own opt-out; None otherwise.

        Every other status (delivered, failed for another reason) is acknowledged and not
        stored. A retried callback gets the first answer; one for a contact already opted out
        changes nothing.
        """
        meaning = opted_out_meaning(status.carrier, status.code)
        if meaning is None:
            return None
        return record_opt_out(self._ctx(), status, meaning, None)

    def carrier_refusals(
        self, statuses: Sequence[DeliveryStatus], reported_by: str
    ) -> list[Outcome]:
        """Record refusals sending systems got from their carriers, as status callbacks would.

        Every one is checked before any is recorded: a list with one unknown code changes nothing.
        """
        count = len(statuses)
        meanings = [refusal_meaning(status, f"refusal {i + 1} of {count}: " if count > 1 else "")
                    for i, status in enumerate(statuses)]  # fmt: skip
        return [
            record_opt_out(self._ctx(), status, meaning, reported_by)
            for status, meaning in zip(statuses, meanings, strict=True)
        ]

    def opt_out(
        self, phone: str, sender: str | None, actor: Actor, reason: str | None = None
    ) -> Outcome:
        """Opt a contact out as an agent, the API or an import; without a sender, account-wide."""
        return self._command(Command.OPT_OUT, phone, sender, actor, reason)

    def opt_in(
        self, phone: str, sender: str | None, actor: Actor, reason: str | None = None
    ) -> Outcome:
        """Opt a contact back in; raises NotAllowed (after recording it) for a contact's opt-out."""
        return self._command(Command.OPT_IN, phone, sender, actor, reason)

    def _command(
        self, command: Command, phone: str, sender: str | None, actor: Actor, reason: str | None
    ) -> Outcome:
        contact = normalize_phone(phone, self.region)
        sender_key = normalize_sender(sender, self.region) if sender else None
        scope = Scope.SENDER if sender_key else Scope.ACCOUNT
        actor, reason = Actor(actor.source, clean_name(actor.name)), clean_reason(reason)
        with self.ledger.contact(contact) as cursor:
            rows = cursor.scope_rows(contact)
            request = request_for(rows, actor.source, sender_key, command=command)
            decision = self.decider.decide(request)
            ctx = Context(
                contact,
                sender_key,
                actor.source,
                actor.name,
                self.clock(),
                reason=reason,
                scope=scope,
            )
            outcome, steps = record(cursor, rows, decision, ctx)
        error = refusal(steps)
        if error is not None:
            raise error
        return outcome

    def status(self, phone: str, sender: str | None = None) -> ConsentStatus:
        """A contact's consent as seen from a sender, or from the account."""
        contact = normalize_phone(phone, self.region)
        sender_key = normalize_sender(sender, self.region) if sender else None
        return consent_status(contact, sender_key, self.ledger.scope_rows(contact))

    def can_send(self, phone: str, sender: str) -> bool:
        """True when no opt-out covers this sender or the whole account."""
        return self.status(phone, sender).can_send

    def check(self, sender: str, phones: Iterable[object]) -> CheckResult:
        """Split numbers into sendable, suppressed and invalid for one sender (deduplicated)."""
        sender_key = normalize_sender(sender, self.region)
        blocked = self.ledger.opted_out_contacts((sender_key, ACCOUNT))
        return split_numbers(phones, blocked, self.region)

    def events(self, phone: str, limit: int = 200) -> list[ConsentEvent]:
        """A contact's history, newest first."""
        contact = normalize_phone(phone, self.region)
        return self.ledger.events_of(contact, limit)

    def reviews(
        self, phone: str | None = None, status: str = "open", limit: int | None = None
    ) -> list[ReviewItem]:
        """Review items ("open", "decided" or "all"), for one contact or all; open ones first."""
        state, limit = reviews.ledger_state(status), reviews.check_limit(limit)
        contact = normalize_phone(phone, self.region) if phone else None
        return self.ledger.find_reviews(contact, state, limit)

    def review(self, review_id: int) -> ReviewItem:
        """One review item, open or decided; NotFound when there is none."""
        item = self.ledger.get_review(review_id) if 0 < review_id < reviews.MAX_ID else None
        if item is None:
            raise NotFound(f"there is no review item {review_id}")
        return item

    def decide_review(self, review_id: int, opt_out: bool, actor: Actor) -> ReviewItem:
        """Close a review item: the first agent decides; a second decision is a Conflict."""
        return reviews.decide_review(
            self.ledger, self.decider.version, self.clock, review_id, opt_out, actor
        )

    def export_optouts(
        self,
        since: datetime | None = None,
        sender: str | None = None,
        until: datetime | None = None,
    ) -> Iterator[tuple[str, ...]]:
        """The opted-out list as CSV rows (header first), streamed; `until` is exclusive."""
        check_window(since, until)  # now, not at the first row
        sender_key = normalize_sender(sender, self.region) if sender else None
        return self.ledger.export_optouts(since, sender_key, until)

    def export_csv(
        self,
        since: datetime | None = None,
        sender: str | None = None,
        until: datetime | None = None,
    ) -> CsvChunks:
        """The same list as CSV bytes built by the database, in large chunks (a file's worth)."""
        sender_key = normalize_sender(sender, self.region) if sender else None
        check_window(since, until)  # refused before any query, as a clear 400
        return self.ledger.export_csv(since, sender_key, until)

    def import_optouts(
        self,
        rows: Iterable[Mapping[str, str | None]],
        actor: Actor,
        progress: Callable[[int], None] | None = None,
        dry_run: bool = False,
    ) -> ImportSummary:
        """Load an existing opt-out list; returns how many rows were taken, skipped and invalid."""
        return bulk.import_optouts(
            self.ledger, self.decider, rows, actor,
            region=self.region, clock=self.clock, progress=progress, dry_run=dry_run,
        )  # fmt: skip

    def health(self) -> dict[str, object]:
        """Whether the ledger answers."""
        return {"database": self.ledger.ping()}


__all__ = ["ConsentService", "utcnow"]
