"""The service layer: the one door to the ledger for the web hook, the API, the bot and the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from core import bulk, ledger
from core.db import Database
from core.errors import (
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    InvalidPhoneNumber,
    NotFound,
)
from core.model import (
    ACCOUNT,
    Actor,
    CheckResult,
    Command,
    ConsentEvent,
    ConsentStatus,
    Decision,
    DecisionRequest,
    ImportSummary,
    InboundMessage,
    Outcome,
    ReviewItem,
    Scope,
    ScopeState,
    Source,
    Status,
    Transition,
)
from core.phone import normalize_phone, normalize_sender
from core.ports import Decider
from core.text import MESSAGE_ID_LIMIT, clean_name, clean_text
from core.transitions import Context, Plan, plan, refusal

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class ConsentService:
    """Consent actions and questions; each action is one transaction under the contact's lock."""

    def __init__(
        self, database: Database, decider: Decider, *, region: str = "US", clock: Clock = utcnow
    ) -> None:
        self.database = database
        self.decider = decider
        self.region = region
        self.clock = clock

    def receive_message(self, message: InboundMessage) -> Outcome:
        """Decide and record a contact's text; a retried carrier message gets the first answer."""
        contact = normalize_phone(message.contact, self.region)
        sender = normalize_sender(message.sender, self.region)
        if not 0 < len(message.message_id) <= MESSAGE_ID_LIMIT:
            raise InvalidInput(
                f"the carrier's message id must be 1 to {MESSAGE_ID_LIMIT} characters long",
                detail=f"message id of {len(message.message_id)} characters refused; "
                f"carriers' ids (Twilio's MessageSid) are 34 characters.",
            )
        message = replace(message, body=clean_text(message.body) or "")
        try:
            return self._receive(message, contact, sender)
        except IntegrityError:
            # Two deliveries of one message raced past the lookup; the first one won.
            return self._receive(message, contact, sender)

    def _receive(self, message: InboundMessage, contact: str, sender: str) -> Outcome:
        with self.database.write([contact]) as conn:
            prior = ledger.find_message(conn, message.carrier, message.message_id)
            if prior is not None:
                return self._replay(conn, prior, contact, sender)
            rows = ledger.scope_rows(conn, contact)
            decision = self.decider.decide(
                DecisionRequest(
                    actor=Source.CONTACT,
                    sender=sender,
                    sender_state=ledger.facts(rows, sender),
                    account_state=ledger.facts(rows, ACCOUNT),
                    text=message.body,
                )
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
            )
            outcome = self._apply(conn, rows, decision, ctx)
            ledger.add_message(
                conn,
                {
                    "carrier": message.carrier,
                    "message_id": message.message_id,
                    "contact": contact,
                    "sender": sender,
                    "body": message.body,
                    "received_at": message.received_at,
                    "transition": decision.transition.value,
                    "rule": decision.rule,
                    "reply": outcome.reply,
                },
            )
            return outcome

    def _replay(self, conn: Connection, prior: Any, contact: str, sender: str) -> Outcome:
        decision = Decision(
            transition=Transition(prior.transition),
            scope=Scope.SENDER,
            rule=prior.rule,
            rules_version=self.decider.version,
            reply=prior.reply,
        )
        rows = ledger.scope_rows(conn, contact)
        return Outcome(decision, False, prior.reply, _status(contact, sender, rows), duplicate=True)

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
        actor, reason = Actor(actor.source, clean_name(actor.name)), clean_text(reason)
        with self.database.write([contact]) as conn:
            rows = ledger.scope_rows(conn, contact)
            decision = self.decider.decide(
                DecisionRequest(
                    actor=actor.source,
                    sender=sender_key,
                    sender_state=ledger.facts(rows, sender_key),
                    account_state=ledger.facts(rows, ACCOUNT),
                    command=command,
                    scope=scope,
                )
            )
            ctx = Context(
                contact,
                sender_key,
                actor.source,
                actor.name,
                self.clock(),
                reason=reason,
                scope=scope,
            )
            outcome, steps = self._apply_plan(conn, rows, decision, ctx)
        error = refusal(steps)
        if error is not None:
            raise error
        return outcome

    def _apply(
        self, conn: Connection, rows: dict[str, ScopeState], decision: Decision, ctx: Context
    ) -> Outcome:
        return self._apply_plan(conn, rows, decision, ctx)[0]

    def _apply_plan(
        self, conn: Connection, rows: dict[str, ScopeState], decision: Decision, ctx: Context
    ) -> tuple[Outcome, Plan]:
        steps = plan(rows, decision, ctx)
        review_id = ledger.add_review(conn, steps.review) if steps.review else None
        event_id = None
        for event in steps.events:
            event_id = ledger.add_event(conn, event)
        ledger.upsert_scopes(conn, steps.scopes)
        after = ledger.scope_rows(conn, ctx.contact) if steps.changed else rows
        reply = decision.reply if not steps.refused else None
        status = _status(ctx.contact, ctx.sender, after)
        return Outcome(decision, steps.changed, reply, status, event_id, review_id), steps

    def status(self, phone: str, sender: str | None = None) -> ConsentStatus:
        """A contact's consent as seen from a sender, or from the account."""
        contact = normalize_phone(phone, self.region)
        sender_key = normalize_sender(sender, self.region) if sender else None
        with self.database.read() as conn:
            return _status(contact, sender_key, ledger.scope_rows(conn, contact))

    def can_send(self, phone: str, sender: str) -> bool:
        """True when no opt-out covers this sender or the whole account."""
        return self.status(phone, sender).can_send

    def check(self, sender: str, phones: Iterable[object]) -> CheckResult:
        """Split numbers into sendable, suppressed and invalid for one sender (deduplicated)."""
        sender_key = normalize_sender(sender, self.region)
        with self.database.read() as conn:
            blocked = ledger.opted_out_contacts(conn, (sender_key, ACCOUNT))
        sendable: list[str] = []
        suppressed: list[str] = []
        invalid: list[str] = []
        seen: set[str] = set()
        region = self.region
        for raw in phones:
            try:
                phone = normalize_phone(raw, region)
            except InvalidPhoneNumber:
                invalid.append(raw if isinstance(raw, str) else repr(raw))
                continue
            if phone in seen:
                continue
            seen.add(phone)
            (suppressed if phone in blocked else sendable).append(phone)
        return CheckResult(sendable, suppressed, invalid)

    def events(self, phone: str, limit: int = 200) -> list[ConsentEvent]:
        """A contact's history, newest first."""
        contact = normalize_phone(phone, self.region)
        with self.database.read() as conn:
            return ledger.events_of(conn, contact, limit)

    def reviews(self, phone: str | None = None) -> list[ReviewItem]:
        """Open review items, for one contact or all."""
        contact = normalize_phone(phone, self.region) if phone else None
        with self.database.read() as conn:
            return ledger.open_reviews(conn, contact)

    def decide_review(self, review_id: int, opt_out: bool, actor: Actor) -> ReviewItem:
        """Close a review item: the first agent decides; a second decision is a Conflict."""
        if not 0 < review_id < 2**62:  # beyond any id the ledger hands out (and its BIGINT)
            raise NotFound(f"there is no review item {review_id}")
        actor = Actor(actor.source, clean_name(actor.name))
        with self.database.read() as conn:
            item = ledger.get_review(conn, review_id)
        if item is None:
            raise NotFound(f"there is no review item {review_id}")
        with self.database.write([item.contact]) as conn:
            now = self.clock()
            decision_name = "opt_out" if opt_out else "not_opt_out"
            if not ledger.close_review(conn, review_id, decision_name, actor.name, now):
                current = ledger.get_review(conn, review_id)
                who = current.decided_by if current else "someone"
                raise Conflict(f"review item {review_id} was already decided by {who}")
            rows = ledger.scope_rows(conn, item.contact)
            self._record_review(conn, rows, item, opt_out, actor, now)
            closed = ledger.get_review(conn, review_id)
        assert closed is not None
        return closed

    def _record_review(
        self,
        conn: Connection,
        rows: dict[str, ScopeState],
        item: ReviewItem,
        opt_out: bool,
        actor: Actor,
        now: datetime,
    ) -> None:
        # A confirmed plain-words request is the contact's own opt-out (only they may undo it);
        # the agent who read it is the actor.
        decision = Decision(
            transition=Transition.OPT_OUT if opt_out else Transition.NONE,
            scope=Scope.SENDER if item.sender else Scope.ACCOUNT,
            rule="review:opt_out" if opt_out else "review:not_opt_out",
            rules_version=self.decider.version,
            keyword=item.phrase,
        )
        ctx = Context(
            contact=item.contact, sender=item.sender, source=Source.CONTACT,
            actor=actor.name, now=now, text=item.message_text,
            reason=f"review {item.id} decided by {actor.source.value} {actor.name}",
        )  # fmt: skip
        self._apply_plan(conn, rows, decision, ctx)
        ledger.add_event(conn, _review_closed_event(item, decision, ctx, actor))

    def export_optouts(
        self, since: datetime | None = None, sender: str | None = None
    ) -> Iterator[tuple[str, ...]]:
        """The opted-out list as CSV rows (header first), streamed."""
        sender_key = normalize_sender(sender, self.region) if sender else None
        return bulk.export_optouts(self.database, since, sender_key)

    def import_optouts(
        self,
        rows: Iterable[Mapping[str, str | None]],
        actor: Actor,
        progress: Callable[[int], None] | None = None,
    ) -> ImportSummary:
        """Load an existing opt-out list; returns how many rows were taken, skipped and invalid."""
        return bulk.import_optouts(
            self.database, self.decider, rows, actor,
            region=self.region, clock=self.clock, progress=progress,
        )  # fmt: skip

    def health(self) -> dict[str, object]:
        """Whether the ledger answers."""
        return {"database": self.database.ping()}


def _review_closed_event(
    item: ReviewItem, decision: Decision, ctx: Context, actor: Actor
) -> dict[str, Any]:
    return {
        "at": ctx.now, "contact": item.contact, "sender": item.sender,
        "scope": decision.scope.value, "action": "review_closed", "previous_status": None,
        "new_status": None, "source": actor.source.value, "actor": actor.name,
        "message_text": item.message_text, "keyword": item.phrase, "rule": decision.rule,
        "rules_version": decision.rules_version, "carrier": None, "carrier_message_id": None,
        "reason": ctx.reason,
    }  # fmt: skip


def _status(contact: str, sender: str | None, rows: dict[str, ScopeState]) -> ConsentStatus:
    account = rows.get(ACCOUNT)
    own = rows.get(sender) if sender else None
    blocking = [s for s in (account, own) if s is not None and s.status is Status.OPTED_OUT]
    first = blocking[0] if blocking else None
    ordered = sorted(rows.values(), key=lambda s: (s.scope is not Scope.ACCOUNT, s.sender or ""))
    return ConsentStatus(
        phone=contact,
        sender=sender,
        status=Status.OPTED_OUT if first else Status.SUBSCRIBED,
        can_send=first is None,
        opted_out_by=first.source if first else None,
        scope=first.scope if first else None,
        since=first.since if first else None,
        scopes=tuple(ordered),
    )


__all__ = ["ConsentService", "DatabaseUnavailable", "utcnow"]
