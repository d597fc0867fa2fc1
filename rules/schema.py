"""The shape of rules.yml as pydantic models, and the legal floor no file may remove."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Intent = Literal["opt_out", "opt_in", "help"]
ScopeName = Literal["sender", "account"]
CommandActor = Literal["agent", "api", "import"]
OptOutSource = Literal["contact", "agent", "api", "import"]
CarrierName = Literal["twilio", "telnyx", "plivo", "bandwidth", "vonage", "sinch"]

# The floor: keywords every rules file must keep (FCC per-se list, CTIA, carriers' defaults).
FLOOR_OPT_OUT: dict[str, ScopeName] = {
    "STOP": "sender",
    "UNSUBSCRIBE": "sender",
    "CANCEL": "sender",
    "END": "sender",
    "QUIT": "sender",
    "REVOKE": "sender",
    "OPTOUT": "sender",
    "OPT OUT": "sender",
    "STOPALL": "account",
    "STOP ALL": "account",
}
_ALL_ACTORS: tuple[CommandActor, ...] = ("agent", "api", "import")
_REVERSIBLE: tuple[OptOutSource, ...] = ("agent", "api", "import")
# Floor words that must opt out even inside a longer message ("STOP. I never signed up").
FLOOR_IN_A_SENTENCE = ("STOP", "UNSUBSCRIBE", "REVOKE", "OPTOUT", "OPT OUT", "STOPALL", "STOP ALL")
FLOOR_OPT_IN = ("START", "UNSTOP", "YES")
FLOOR_HELP = ("HELP", "INFO")


class _Model(BaseModel):
    # strict: YAML's unquoted YES (a bool) or 12 (an int) is never silently taken as text.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class KeywordGroup(_Model):
    """Words that mean one thing (opt out, opt in, help) in one language."""

    intent: Intent
    language: str = Field(pattern=r"^[a-z]{2,3}$")
    scope: ScopeName = "sender"
    words: list[str] = Field(min_length=1)
    # What an opt-out word does as one clause of a longer message ("Cancel, I can't make it"):
    # opt out, or only open a review. The whole message being the word always opts out.
    in_a_sentence: Literal["opt_out", "review"] = "opt_out"
    description: str | None = None


class ReplyTexts(_Model):
    """Reply texts by intent, each by language code."""

    opt_out: dict[str, str] = Field(default_factory=dict)
    opt_in: dict[str, str] = Field(default_factory=dict)
    help: dict[str, str] = Field(default_factory=dict)
    # START from a contact who was not opted out: no consent change, and with no text here
    # no reply at all (carriers' own confirmation, if any, is the only answer).
    already_subscribed: dict[str, str] = Field(default_factory=dict)


class Replies(ReplyTexts):
    """Default replies, and per-sender overrides keyed by sender number or short code."""

    senders: dict[str, ReplyTexts] = Field(default_factory=dict)


class Review(_Model):
    """Plain-language phrases that open a review, and whether misspelt keywords do too."""

    phrases: list[str] = Field(default_factory=list)
    typos: bool = True
    typo_min_length: int = Field(default=5, ge=3, le=20)


class Guard(_Model):
    """A false-positive pattern: one of these words, then only a quotation of our text."""

    starts_with: list[str] = Field(min_length=1)
    needs_quote: bool = True
    # also an emoji alone before the quotation: 👍 to “Reply STOP to opt out”
    emoji: bool = False
    description: str | None = None


class OptOutCommand(_Model):
    """Who may opt a contact out by command."""

    actors: list[CommandActor] = Field(default_factory=lambda: list(_ALL_ACTORS))


class OptInCommand(_Model):
    """Who may opt a contact in by command, and whose opt-outs they may reverse."""

    actors: list[CommandActor] = Field(default_factory=lambda: list(_ALL_ACTORS[:2]))
    may_reverse: list[OptOutSource] = Field(default_factory=lambda: list(_REVERSIBLE))


class Commands(_Model):
    """The agent/API commands and their permissions."""

    opt_out: OptOutCommand = Field(default_factory=OptOutCommand)
    opt_in: OptInCommand = Field(default_factory=OptInCommand)


class RulesFile(_Model):
    """The whole of rules.yml."""

    format: Literal[1] = 1
    default_language: str = Field(default="en", pattern=r"^[a-z]{2,3}$")
    filler_words: list[str] = Field(default_factory=list)
    keywords: dict[str, KeywordGroup] = Field(min_length=1)
    replies: Replies
    review: Review = Field(default_factory=Review)
    guards: dict[str, Guard] = Field(default_factory=dict)
    commands: Commands = Field(default_factory=Commands)
    # What an opt-out the carrier reports (a flagged STOP, an opted-out delivery status)
    # covers: the number texted, or every number of the account. Unnamed carriers: sender.
    carrier_scope: dict[CarrierName, ScopeName] = Field(default_factory=dict)
