"""/optout-export [since=YYYY-MM-DD] [sender=PHONE] [to=channel]: the opted-out list as a CSV file.

Only agents with the export right (bot.permissions.ExportPolicy) get it, checked on every
command; the file goes to the requester's direct message with the bot, or with `to=channel`
into the command's channel when that is not shared with another workspace (bot.delivery).
Every export, refused, delivered or failed, is logged with who asked and where it went.
"""

from __future__ import annotations

import csv
import logging
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as midnight
from pathlib import Path
from typing import IO, Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.args import parse, parse_date, sender_option
from bot.context import BotContext, agent
from bot.delivery import Destination, NotDelivered, direct_message, unshared_channel
from bot.errors import UploadFailed, UsageError
from bot.export_notes import Progress, failure_text, tell_caller, tell_failure
from bot.files import upload_file
from bot.replies import usage_problem
from bot.text import number
from core.errors import StoplineError

log = logging.getLogger(__name__)
RUNNING_AT_ONCE = 2  # each export holds one of Bolt's 10 listener threads until it is posted


@dataclass(frozen=True)
class Filters:
    """What to export: opt-outs made on or after `since` (UTC), covering `sender`."""

    since: date | None = None
    sender: str | None = None  # E.164 or a short code
    to_channel: bool = False  # post in the command's channel instead of a direct message

    def start(self) -> datetime | None:
        """The start of the `since` day in UTC."""
        return datetime.combine(self.since, midnight.min, tzinfo=UTC) if self.since else None

    def words(self) -> list[str]:
        """The filters as an agent reads them."""
        found = [f"since {self.since.isoformat()} 00:00 UTC"] if self.since else []
        if self.sender:  # the core counts an account-wide opt-out as covering every sender
            found.append(f"sender {number(self.sender)} with account-wide opt-outs")
        return found or ["all opt-outs"]

    def filename(self, today: date) -> str:
        """`stopline-optouts-2026-11-26[-since-2026-01-01][-sender-12065550100].csv`."""
        name = f"stopline-optouts-{today.isoformat()}"
        name += f"-since-{self.since.isoformat()}" if self.since else ""
        name += f"-sender-{self.sender.lstrip('+')}" if self.sender else ""
        return name + ".csv"


def parse_filters(text: str | None, region: str) -> Filters:
    """The command's options; UsageError or InvalidPhoneNumber says what was wrong."""
    arguments = parse(text, options={"since", "sender", "to"}, phone=False, region=region)
    if arguments.rest:
        raise UsageError(
            f'unexpected "{arguments.rest}": the export takes only since=, sender= and to='
        )
    since = arguments.options.get("since")
    to = arguments.options.get("to", "me").strip().lower()
    if to not in ("me", "channel"):
        raise UsageError(f"`to={arguments.options['to']}` is not a place: write `to=channel`")
    return Filters(
        parse_date(since, "since") if since else None,
        sender_option(arguments, region),
        to_channel=to == "channel",
    )


def refusal(ctx: BotContext) -> str:
    """What an agent without the export right is told."""
    return f":lock: No export was made. {ctx.export_policy.explain()}"


def register(app: App, ctx: BotContext) -> None:
    """Attach /optout-export."""
    slots = threading.BoundedSemaphore(RUNNING_AT_ONCE)

    @app.command("/optout-export")
    def optout_export(ack: Any, command: dict[str, Any], client: WebClient, respond: Any) -> None:
        user = command["user_id"]
        # Known without Slack (a listed user, no user group, or its members cached): answered
        # in the ack. A user group look-up may take longer than Slack's 3 s: after the ack.
        allowed = ctx.export_policy.known(user)
        if allowed is False:
            _log_refusal(command)
            ack(text=refusal(ctx), response_type="ephemeral")
            return
        try:
            filters = parse_filters(command.get("text"), ctx.region)
        except StoplineError as exc:
            ack(text=usage_problem("/optout-export", exc), response_type="ephemeral")
            return
        if not slots.acquire(blocking=False):
            busy = f"{RUNNING_AT_ONCE} exports are already being built."
            ack(text=f"{busy} Try again when they are posted.", response_type="ephemeral")
            return
        try:
            wanted = ", ".join(filters.words())
            where = (
                "The file will be posted in this channel if it is not shared with another "
                "workspace."
                if filters.to_channel
                else "stopline will send you the file in a direct message."
            )
            ack(
                text=f"Building the export of opted-out contacts ({wanted}). {where}",
                response_type="ephemeral",
            )
            # Bolt has sent the ack; the rest runs on in its listener thread.
            if allowed is None and not ctx.export_policy.allows(user):
                _log_refusal(command)
                respond(text=refusal(ctx), response_type="ephemeral", replace_original=False)
                return
            run_export(ctx, client, respond, command, filters)
        finally:
            slots.release()


def _log_refusal(command: dict[str, Any]) -> None:
    who = agent(command.get("team_id"), command["user_id"]).name
    log.warning(
        "opt-out export refused: %s has no export right (asked in %s: %r)",
        who, command.get("channel_id"), (command.get("text") or "")[:200],
    )  # fmt: skip


def run_export(
    ctx: BotContext, client: WebClient, respond: Any, command: dict[str, Any], filters: Filters
) -> None:
    """Find where the file may go, write the CSV to a temporary file and upload it there.

    Any failure is told where the file would have gone (or to the caller alone).
    """
    channel, user = command["channel_id"], command["user_id"]
    who, wanted = agent(command.get("team_id"), user).name, "; ".join(filters.words())
    started = time.monotonic()
    path: Path | None = None
    destination: Destination | None = None
    try:
        destination = (
            unshared_channel(client, channel) if filters.to_channel
            else direct_message(client, user)
        )  # fmt: skip
        handle, name = tempfile.mkstemp(prefix="stopline-optouts-", suffix=".csv")
        path = Path(name)
        with Progress(respond, ctx.settings.slack_export_progress_seconds) as progress:
            with open(handle, "w", newline="", encoding="utf-8") as out:
                rows = ctx.consent.export_optouts(filters.start(), filters.sender)
                count = write_csv(rows, out, progress)
            progress.size = path.stat().st_size
            today = ctx.consent.clock().date()
            comment = [f"Opted-out contacts: {count:,} row{'s' * (count != 1)}", *filters.words()]
            upload_file(
                client,
                path,
                filename=filters.filename(today),
                title=f"Opted-out contacts {today.isoformat()}",
                channel_id=destination.channel_id,
                initial_comment=" · ".join([*comment, f"requested by <@{user}>"]),
                sent=progress.uploaded,
            )
        took = time.monotonic() - started
        log.info(
            "opt-out export by %s (%s): %d rows delivered to %s (asked in %s), %.1f s",
            who, wanted, count, destination.words(), channel, took,
        )  # fmt: skip
    except NotDelivered as exc:  # nothing was built: only the caller hears why
        log.warning("opt-out export by %s (%s) refused in %s: %s", who, wanted, channel, exc)
        tell_caller(respond, f":lock: No export was made: {exc.message}")
    except Exception as exc:  # after the ack nobody else would tell the agent: say it plainly
        known = isinstance(exc, StoplineError | SlackApiError | UploadFailed | OSError)
        level = logging.WARNING if known else logging.ERROR
        log.log(level, "opt-out export by %s (%s) failed: %s", who, wanted, exc, exc_info=not known)
        if destination is None:  # Slack failed before saying where the file could go
            tell_caller(respond, f":warning: The opt-out export failed: {failure_text(exc, '')}")
        else:
            text = failure_text(exc, destination.channel_id, private=destination.private)
            tell_failure(client, respond, destination, f"<@{user}>", text)
    finally:
        if path is not None:
            path.unlink(missing_ok=True)


def write_csv(rows: Iterable[Sequence[str]], out: IO[str], progress: Progress) -> int:
    """Write the header and rows as they come from the database; return the number of data rows."""
    writer = csv.writer(out)
    count = -1  # the first row is the header
    for row in rows:
        writer.writerow(row)
        count += 1
        progress.rows = count
    return max(count, 0)
