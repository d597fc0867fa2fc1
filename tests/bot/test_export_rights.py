"""Who may /optout-export, and where the file goes: a direct message, or a channel not shared."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from core.config import Settings
from core.model import Actor, Source
from tests.bot.conftest import MakeSlack
from tests.bot.fakeslack import FakeSlack, ordinary_channel
from tests.bot.helpers import AGENT, BOSS, CHANNEL, TEAM, SlackDriver, ack_text

EXPORT = "/optout-export"
COMPLETE = "files.completeUploadExternal"
SHARING = ["is_ext_shared", "is_shared", "is_org_shared", "is_pending_ext_shared"]
STRANGER = "USTRANGE1"
GROUP = "S0EXPORT"


def dm(user: str) -> str:
    """The fake's direct-message id for a user."""
    return "D" + user.removeprefix("U")


def export(slack: SlackDriver, text: str = "", user: str = AGENT, **kwargs: Any) -> str:
    """Send /optout-export; return the ack's text."""
    return ack_text(slack.command(EXPORT, text, user=user, **kwargs))


def delivered_to(fake: FakeSlack, count: int = 1) -> list[str]:
    """Where the finished uploads went."""
    return [call.params["channel_id"] for call in fake.wait_for(COMPLETE, count)]


def nothing_left_the_ledger(fake: FakeSlack) -> None:
    """No file was uploaded and nothing was posted in the command's channel."""
    time.sleep(0.3)  # a listener that ran on after the ack would have called by now
    assert fake.of("files.getUploadURLExternal") == [] and fake.of("upload") == []
    assert fake.of(COMPLETE) == []
    assert [c for c in fake.of("chat.postMessage") if c.params["channel"] == CHANNEL] == []


def refusal_note(fake: FakeSlack) -> str:
    """The caller-only note sent after the ack."""
    note = fake.wait_for("respond")[0].params
    assert note["response_type"] == "ephemeral" and note["replace_original"] is False
    return str(note["text"])


@pytest.fixture
def with_optout(make_slack: MakeSlack) -> MakeSlack:
    """make_slack, with one opt-out in the ledger."""

    def make(**overrides: Any) -> SlackDriver:
        slack = make_slack(**overrides)
        actor = Actor(Source.AGENT, f"slack:{TEAM}:{BOSS}")
        slack.services.consent.opt_out("+12065550101", None, actor, "asked on a call")
        return slack

    return make


def test_a_stranger_is_refused_and_told_which_setting_gives_the_right(
    with_optout: MakeSlack,
) -> None:
    slack = with_optout()  # neither export setting: the opt-in agents (BOSS) may export
    text = export(slack, user=STRANGER)
    assert text.startswith(":lock: No export was made.")
    assert "STOPLINE_SLACK_EXPORT_USERS" in text and "STOPLINE_SLACK_EXPORT_USERGROUP" in text
    assert "STOPLINE_SLACK_OPTIN_USERS" in text  # who may export meanwhile
    nothing_left_the_ledger(slack.fake)
    assert slack.fake.of("conversations.open") == [] and slack.fake.of("respond") == []


@pytest.mark.parametrize("text", ["", "to=channel", "since=2026-01-01", "everything please"])
def test_a_stranger_is_refused_whatever_they_type(with_optout: MakeSlack, text: str) -> None:
    slack = with_optout(slack_export_users=[AGENT])
    assert export(slack, text, user=STRANGER).startswith(":lock: No export was made.")
    nothing_left_the_ledger(slack.fake)


def test_with_neither_setting_the_agents_who_may_opt_in_may_export(
    with_optout: MakeSlack,
) -> None:
    slack = with_optout()
    text = export(slack, user=BOSS)
    assert "stopline will send you the file in a direct message" in text
    assert delivered_to(slack.fake) == [dm(BOSS)]


def test_once_export_users_are_set_opt_in_rights_do_not_export(with_optout: MakeSlack) -> None:
    slack = with_optout(slack_export_users=[AGENT])
    text = export(slack, user=BOSS)  # may opt in, may not export
    assert text.startswith(":lock: No export was made.")
    assert "Only agents listed in STOPLINE_SLACK_EXPORT_USERS may export" in text
    nothing_left_the_ledger(slack.fake)


def test_nobody_at_all_may_export_when_no_right_is_set(with_optout: MakeSlack) -> None:
    slack = with_optout(slack_optin_users=[])
    text = export(slack, user=BOSS)
    assert "Nobody may export the opted-out list from Slack yet" in text
    assert "STOPLINE_SLACK_EXPORT_USERS" in text
    nothing_left_the_ledger(slack.fake)


def test_an_export_user_gets_a_direct_message_and_the_channel_nothing(
    with_optout: MakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    slack = with_optout(slack_export_users=[AGENT, "UOTHER001"])
    caplog.set_level(logging.INFO, logger="bot")
    export(slack)
    assert delivered_to(slack.fake) == [dm(AGENT)]
    assert slack.fake.of("conversations.open")[0].params["users"] == AGENT
    complete = slack.fake.of(COMPLETE)[0]
    assert complete.params["initial_comment"].startswith("Opted-out contacts: 1 row")
    file_id = json.loads(complete.params["files"])[0]["id"]
    assert b"+12065550101" in slack.fake.uploads[file_id]
    assert [c for c in slack.fake.of("chat.postMessage") if c.params["channel"] == CHANNEL] == []
    assert slack.fake.of("conversations.info") == []
    # Recorded: who asked, what, how many rows, where it went.
    time.sleep(0.1)
    (line,) = [r.getMessage() for r in caplog.records if "delivered to" in r.getMessage()]
    assert f"by slack:{TEAM}:{AGENT} (all opt-outs): 1 rows delivered to direct message" in line
    assert dm(AGENT) in line and f"asked in {CHANNEL}" in line


def test_a_refusal_is_logged_with_who_asked(
    with_optout: MakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    slack = with_optout(slack_export_users=[AGENT])
    export(slack, "since=2026-01-01", user=STRANGER)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"slack:{TEAM}:{STRANGER} has no export right" in line for line in lines), lines


def test_usergroup_members_may_export_and_the_group_is_cached(with_optout: MakeSlack) -> None:
    slack = with_optout(slack_export_usergroup=GROUP)
    slack.fake.usergroups[GROUP] = [AGENT]
    export(slack)  # the first command asks Slack after the ack
    assert delivered_to(slack.fake) == [dm(AGENT)]
    export(slack)
    assert delivered_to(slack.fake, 2) == [dm(AGENT)] * 2
    # A non-member, once the members are cached, is refused in the ack itself.
    text = export(slack, user=BOSS)
    assert text.startswith(":lock: No export was made.") and f"<!subteam^{GROUP}>" in text
    assert len(slack.fake.of("usergroups.users.list")) == 1
    assert slack.fake.of("usergroups.users.list")[0].params["usergroup"] == GROUP
    nothing_more = len(slack.fake.of(COMPLETE))
    time.sleep(0.3)
    assert len(slack.fake.of(COMPLETE)) == nothing_more == 2


def test_a_member_removed_from_the_group_is_refused_once_the_cache_expires(
    with_optout: MakeSlack,
) -> None:
    slack = with_optout(slack_export_usergroup=GROUP, slack_optin_cache_seconds=0)
    slack.fake.usergroups[GROUP] = [AGENT]
    export(slack)
    assert delivered_to(slack.fake) == [dm(AGENT)]
    slack.fake.usergroups[GROUP] = []
    assert export(slack).startswith("Building the export")  # checked after the ack
    assert refusal_note(slack.fake).startswith(":lock: No export was made. Only agents listed")
    assert len(slack.fake.of("usergroups.users.list")) == 2
    time.sleep(0.3)
    assert len(slack.fake.of(COMPLETE)) == 1


def test_a_failed_group_look_up_refuses(with_optout: MakeSlack) -> None:
    slack = with_optout(slack_export_usergroup="S0GONE")  # the fake knows no such group
    export(slack)
    assert "STOPLINE_SLACK_EXPORT_USERS" in refusal_note(slack.fake)
    nothing_left_the_ledger(slack.fake)


def test_with_neither_setting_the_opt_in_usergroup_may_export(with_optout: MakeSlack) -> None:
    slack = with_optout(slack_optin_users=[], slack_optin_usergroup="S0LEADS")
    slack.fake.usergroups["S0LEADS"] = [AGENT]
    export(slack)
    assert delivered_to(slack.fake) == [dm(AGENT)]


def test_to_channel_in_an_ordinary_channel_posts_there(with_optout: MakeSlack) -> None:
    slack = with_optout(slack_export_users=[AGENT])
    text = export(slack, "to=channel")
    assert "posted in this channel if it is not shared with another workspace" in text
    assert delivered_to(slack.fake) == [CHANNEL]
    assert slack.fake.of("conversations.info")[0].params["channel"] == CHANNEL
    assert slack.fake.of("conversations.open") == []


@pytest.mark.parametrize("flag", SHARING)
def test_to_channel_in_a_shared_channel_is_refused(with_optout: MakeSlack, flag: str) -> None:
    slack = with_optout(slack_export_users=[AGENT])
    slack.fake.conversations[CHANNEL] = ordinary_channel(CHANNEL, **{flag: True})
    export(slack, "TO=Channel")
    note = refusal_note(slack.fake)
    assert note.startswith(":lock: No export was made: this channel is shared with another")
    assert "Leave out `to=channel`" in note
    nothing_left_the_ledger(slack.fake)


@pytest.mark.parametrize(
    "answer",
    [
        {"ok": False, "error": "missing_scope", "needed": "channels:read"},
        {"ok": False, "error": "channel_not_found"},
        {"ok": False, "error": "ratelimited"},
        {"ok": True},  # no conversation at all
        {"ok": True, "channel": "C0AGENTS"},
        {"ok": True, "channel": {"id": CHANNEL, "is_im": True, "is_org_shared": False}},
        {"ok": True, "channel": ordinary_channel(CHANNEL, is_ext_shared=None)},
        {"ok": True, "channel": ordinary_channel(CHANNEL, is_shared="false")},
        {"ok": True, "channel": ordinary_channel(CHANNEL, is_pending_ext_shared=0)},
    ],
)
def test_to_channel_is_refused_when_slack_cannot_say_the_channel_is_not_shared(
    with_optout: MakeSlack, answer: dict[str, Any]
) -> None:
    slack = with_optout(slack_export_users=[AGENT])
    slack.fake.answers["conversations.info"] = lambda params: answer
    export(slack, "to=channel")
    note = refusal_note(slack.fake)
    assert note.startswith(":lock: No export was made:")
    assert "so the list is not posted here" in note and "Leave out `to=channel`" in note
    if answer.get("error"):
        assert f"`{answer['error']}`" in note
    nothing_left_the_ledger(slack.fake)


def test_a_direct_message_slack_will_not_open_is_told_to_the_caller(
    with_optout: MakeSlack,
) -> None:
    slack = with_optout(slack_export_users=[AGENT])
    slack.fake.answers["conversations.open"] = lambda params: {
        "ok": False, "error": "missing_scope", "needed": "im:write"
    }  # fmt: skip
    export(slack)
    note = refusal_note(slack.fake)
    assert "could not open a direct message with you (`missing_scope`, needs `im:write`)" in note
    nothing_left_the_ledger(slack.fake)


@pytest.mark.parametrize("text", ["to=everyone", "to=", "to=C0OTHER"])
def test_to_takes_only_channel(with_optout: MakeSlack, text: str) -> None:
    slack = with_optout(slack_export_users=[AGENT])
    answer = export(slack, text)
    assert answer.startswith(":warning:") and "to=channel" in answer
    nothing_left_the_ledger(slack.fake)


@pytest.mark.parametrize(
    ("raw", "users"),
    [("U01,U02", ["U01", "U02"]), (" U01  U02 ", ["U01", "U02"]), ('["U01"]', ["U01"]), ("", [])],
)
def test_export_users_are_read_in_the_opt_in_forms(
    monkeypatch: pytest.MonkeyPatch, raw: str, users: list[str]
) -> None:
    monkeypatch.setenv("STOPLINE_SLACK_EXPORT_USERS", raw)
    monkeypatch.setenv("STOPLINE_SLACK_EXPORT_USERGROUP", "S0EXPORT")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.slack_export_users == users
    assert settings.slack_export_usergroup == "S0EXPORT"
