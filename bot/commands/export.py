"""/optout-export [since=YYYY-MM-DD] [sender=PHONE]: the opted-out list as a CSV file."""

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

from bot.args import UsageError, parse, parse_date, sender_option
from bot.context import BotContext, agent
from bot.files import UploadFailed, refusal_text, upload_file
from bot.replies import usage_problem
from bot.text import number
from core.errors import DatabaseUnavailable, StoplineError

log = logging.getLogger(__name__)
MAX_NOTES = 3  # a response_url takes 5 posts in 30 minutes; one is kept for a failure
RUNNING_AT_ONCE = 2  # each export holds one of Bolt's 10 listener threads until it is posted


@dataclass(frozen=True)
class Filters:
    """What to export: opt-outs made on or after `since` (UTC), covering `sender`."""

    since: date | None = None
    sender: str | None = None  # E.164 or a short code

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
    arguments = parse(text, options={"since", "sender"}, phone=False, region=region)
    if arguments.rest:
        raise UsageError(f'unexpected "{arguments.rest}": the export takes only since= and sender=')
    since = arguments.options.get("since")
    return Filters(parse_date(since, "since") if since else None, sender_option(arguments, region))


def register(app: App, ctx: BotContext) -> None:
    """Attach /optout-export."""
    slots = threading.BoundedSemaphore(RUNNING_AT_ONCE)

    @app.command("/optout-export")
    def optout_export(ack: Any, command: dict[str, Any], client: WebClient, respond: Any) -> None:
        try:
            filters = parse_filters(command.get("text"), ctx.consent.region)
        except StoplineError as exc:
            ack(text=usage_problem("/optout-export", exc), response_type="ephemeral")
            return
        if not slots.acquire(blocking=False):
            busy = f"{RUNNING_AT_ONCE} exports are already being built."
            ack(text=f"{busy} Try again when they are posted.", response_type="ephemeral")
            return
        try:
            wanted = ", ".join(filters.words())
            ack(
                text=f"Building the export of opted-out contacts ({wanted}). The file will be "
                "posted in this channel.",
                response_type="ephemeral",
            )
            # Bolt has sent the ack; the rest runs on in its listener thread.
            run_export(ctx, client, respond, command, filters)
        finally:
            slots.release()


def run_export(
    ctx: BotContext, client: WebClient, respond: Any, command: dict[str, Any], filters: Filters
) -> None:
    """Write the CSV to a temporary file, post it in the channel; any failure is told there."""
    channel, user = command["channel_id"], command["user_id"]
    who, wanted = agent(command.get("team_id"), user).name, "; ".join(filters.words())
    started = time.monotonic()
    path: Path | None = None
    try:
        handle, name = tempfile.mkstemp(prefix="stopline-optouts-", suffix=".csv")
        path = Path(name)
        with _Progress(respond, ctx.settings.slack_export_progress_seconds) as progress:
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
                channel_id=channel,
                initial_comment=" · ".join([*comment, f"requested by <@{user}>"]),
                sent=progress.uploaded,
            )
        took = time.monotonic() - started
        log.info(
            "opt-out export by %s (%s): %d rows in %s, %.1f s", who, wanted, count, channel, took
        )
    except Exception as exc:  # after the ack nobody else would tell the agent: say it plainly
        known = isinstance(exc, StoplineError | SlackApiError | UploadFailed | OSError)
        level = logging.WARNING if known else logging.ERROR
        log.log(level, "opt-out export by %s (%s) failed: %s", who, wanted, exc, exc_info=not known)
        tell_failure(client, respond, channel, f"<@{user}>", failure_text(exc, channel))
    finally:
        if path is not None:
            path.unlink(missing_ok=True)


def write_csv(rows: Iterable[Sequence[str]], out: IO[str], progress: _Progress) -> int:
    """Write the header and rows as they come from the database; return the number of data rows."""
    writer = csv.writer(out)
    count = -1  # the first row is the header
    for row in rows:
        writer.writerow(row)
        count += 1
        progress.rows = count
    return max(count, 0)


def failure_text(exc: Exception, channel: str) -> str:
    """What went wrong and what to do, in an agent's words."""
    if isinstance(exc, DatabaseUnavailable):
        return "the consent ledger could not be read. Try again in a few minutes."
    if isinstance(exc, StoplineError):
        return f"{exc.message}."
    if isinstance(exc, SlackApiError | UploadFailed):
        return refusal_text(exc, channel)
    if isinstance(exc, OSError):
        return (
            f"the stopline server could not write the file ({exc.strerror or exc}). Ask whoever "
            "runs stopline to check its disk space."
        )
    return (
        "stopline hit an unexpected error and logged it. Try again; if it fails again, ask "
        "whoever runs stopline to check its log."
    )


def tell_failure(client: WebClient, respond: Any, channel: str, mention: str, text: str) -> None:
    """Say in the channel that the export failed; if the bot cannot post there, tell the caller."""
    message = f":warning: The opt-out export {mention} asked for failed: {text} Nothing was posted."
    try:
        client.chat_postMessage(channel=channel, text=message)
        return
    except Exception as exc:  # the channel may refuse the bot too; the caller must still hear
        log.warning("could not post the export failure in %s: %s", channel, exc)
    try:
        answer = respond(text=message, response_type="ephemeral", replace_original=False)
        if answer.status_code != 200:
            log.error("could not tell the agent that the export failed: %s", answer.body)
    except Exception:
        log.exception("could not tell the agent that the export failed")


class _Progress:
    """Caller-only notes while a long export runs: every `every` seconds, at most MAX_NOTES."""

    def __init__(self, respond: Any, every: float) -> None:
        self.rows = self.sent = self.size = 0
        self._respond = respond
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="optout-export-progress", daemon=True
        )

    def uploaded(self, sent: int) -> None:
        """Bytes of the file sent so far."""
        self.sent = sent

    def text(self) -> str:
        """Where the export is now."""
        if self.size:
            sent = f"{self.sent / 1e6:.1f} of {self.size / 1e6:.1f} MB sent"
            return f"Still uploading the export ({self.rows:,} rows): {sent}."
        return f"Still building the export: {self.rows:,} rows written so far."

    def __enter__(self) -> _Progress:
        if self._every > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        for _ in range(MAX_NOTES):
            if self._stop.wait(self._every):
                return
            try:
                self._respond(text=self.text(), response_type="ephemeral", replace_original=False)
            except Exception as exc:  # a lost note must not stop the export
                log.warning("could not post an export progress note: %s", exc)
