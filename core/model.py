"""Consent's vocabulary: statuses, sources, transitions, and the values passed between layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

ACCOUNT = "*"
"""The scope key of an account-wide opt-out (every sender number of the business)."""


class Status(StrEnum):
    """Whether a contact may be texted in a scope."""

    SUBSCRIBED = "subscribed"
    OPTED_OUT = "opted_out"


class Source(StrEnum):
    """Who made a change: the contact by text, an agent, the API, or a bulk import."""

    CONTACT = "contact"
    AGENT = "agent"
    API = "api"
    IMPORT = "import"


class Scope(StrEnum):
    """What an opt-out covers: the one sender number texted, or the whole account."""

    SENDER = "sender"
    ACCOUNT = "account"


class Transition(StrEnum):
    """What a decision does to consent."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    REVIEW = "review"
    NONE = "none"
    REFUSE = "refuse"


class Action(StrEnum):
    """What an event in the log records."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    REVIEW_OPENED = "review_opened"
    REVIEW_CLOSED = "review_closed"
    REFUSED = "refused"


class Command(StrEnum):
    """What an agent, the API or an import asks for."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a source and a name (carrier, Slack user id, API token name, file name)."""

    source: Source
    name: str


class CarrierFlag(StrEnum):
    """What a carrier already did with a text (Twilio's OptOutType, Plivo's MessageIntent)."""

    STOP = "STOP"
    START = "START"
    HELP = "HELP"


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A text from a contact to one of the business's numbers, as a carrier delivered it."""

    carrier: str
    message_id: str
    contact: str
    sender: str
    body: str
    received_at: datetime
    flag: CarrierFlag | None = None  # the carrier's own reading, when it sends one
    # True when stopline must send the reply itself, through the carrier's messaging API
    # (the outbox): for carriers that take no reply in the HTTP response.
    reply_by_api: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """What a carrier reports about a message the business sent: its state and error code.

    `contact` is the recipient and `sender` the business's number it was sent from; `code` is
    the carrier's error code as text ("21610"), None when the message did not fail. A report
    that names no sender number (Sinch's) passes `ACCOUNT`: its opt-out covers the account.
    """

    carrier: str
    message_id: str
    contact: str
    sender: str
    status: str
    code: str | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class ScopeFacts:
    """The status of one scope row as the rules see it, and who made its opt-out."""

    status: Status = Status.SUBSCRIBED
    opted_out_by: Source | None = None


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    """The facts the rules decide on, built by the core from the ledger and the request.

    A message from a contact carries `text`; an agent's, the API's or an import's action
    carries `command` and the `scope` it asks for. `sender_state` is the row for this sender
    number (empty when there is no sender), `account_state` the account-wide row.
    """

    actor: Source
    sender: str | None
    sender_state: ScopeFacts
    account_state: ScopeFacts
    text: str | None = None
    command: Command | None = None
    scope: Scope | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rules decided: the transition, its scope, the reply and the rule that fired."""

    transition: Transition
    scope: Scope
    rule: str
    rules_version: str
    reply: str | None = None
    keyword: str | None = None
    language: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ScopeState:
    """Consent in one scope (one sender number, or the account)."""

    scope: Scope
    sender: str | None
    status: Status
    source: Source | None
    actor: str | None
    since: datetime | None
    rule: str | None = None
    message_text: str | None = None
    keyword: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentStatus:
    """A contact's consent as seen from one sender (or from the account when sender is None)."""

    phone: str
    sender: str | None
    status: Status
    can_send: bool
    opted_out_by: Source | None
    scope: Scope | None
    since: datetime | None
    scopes: tuple[ScopeState, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an action did: the decision, whether state changed, and what to answer."""

    decision: Decision
    changed: bool
    reply: str | None
    status: ConsentStatus
    event_id: int | None = None
    review_id: int | None = None
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The answer to a send check: who may be texted, who may not, and what was not a number."""

    sendable: list[str]
    suppressed: list[str]
    invalid: list[object]  # each entry as the caller gave it (a string, a number, null...)


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What a bulk import did."""

    taken: int
    skipped: int
    invalid: int
    errors: list[str] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, why), as errors
    failed_at: tuple[int, str] | None = None  # the first line not stored when the ledger failed


@dataclass(frozen=True, slots=True)
class Reply:
    """A confirmation or help text to send through a carrier's messaging API (from the outbox)."""

    id: int
    carrier: str
    sender: str  # the business's number, as the carrier wrote it
    contact: str  # the contact's number, as the carrier wrote it
    text: str
    key: str  # the same on every attempt: the carrier's idempotency key, where it has one
