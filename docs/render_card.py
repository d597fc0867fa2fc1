"""Draw the status card from its real Block Kit blocks: docs/status-card.png for the README.

    .venv/bin/python docs/render_card.py [--html-only]

A throw-away ledger gets a contact's STOP and an agent's opt-out; bot.changes.card_reply
builds the card an agent would see; the blocks are turned into HTML styled like Slack and
screenshotted with headless Chromium (Debian's `chromium` package). Only the Block Kit this
card uses is drawn: header, section (text and fields), context, actions with buttons.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.changes import card_reply  # noqa: E402  (after the path is set)
from bot.context import BotContext, agent  # noqa: E402
from bot.permissions import OptinPolicy  # noqa: E402
from core.config import Settings  # noqa: E402
from core.model import InboundMessage  # noqa: E402
from stopline.wiring import build_services, migrate  # noqa: E402

OUT = ROOT / "docs" / "status-card.png"
CONTACT, OWN_NUMBER, PROMO_NUMBER = "+12065550100", "+14155550123", "+14155550188"
AGENT, BOSS = "U0DANA001", "U0LEE0001"
NAMES = {AGENT: "Dana Whitfield", BOSS: "Lee Ortega"}
EMOJI = {"no_entry": "⛔", "white_check_mark": "✅", "lock": "🔒", "warning": "⚠️"}
WIDTH = 760

CSS = """
body { margin: 0; background: #fff; font: 15px/1.47 "Lato", "Noto Sans", "DejaVu Sans",
  sans-serif; color: #1d1c1d; }
.msg { display: flex; gap: 10px; padding: 14px 20px 16px; width: WIDTHpx; box-sizing: border-box; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #8b1d1d; color: #fff;
  font-weight: 900; display: flex; align-items: center; justify-content: center; flex: none; }
.who b { font-weight: 900; } .who .app { background: #e8e8e8; color: #616061; font-size: 10px;
  font-weight: 700; padding: 1px 3px; border-radius: 2px; margin: 0 4px; }
.who .time, .only { color: #616061; font-size: 12px; }
.only { margin-bottom: 4px; }
.header { font-size: 18px; font-weight: 900; margin: 6px 0 4px; }
.section { margin: 8px 0; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 4px 16px; margin: 8px 0; }
.context { color: #616061; font-size: 13px; margin: 8px 0; }
code { font: 12px "DejaVu Sans Mono", monospace; color: #c01343; background: #f6f6f6;
  border: 1px solid #e0e0e0; border-radius: 3px; padding: 1px 3px; }
.mention { color: #1264a3; background: #e8f5fa; border-radius: 3px; padding: 0 2px; }
.date { color: #1264a3; }
.actions { display: flex; gap: 8px; margin: 12px 0 2px; }
.button { border: 1px solid #ccc; border-radius: 4px; padding: 4px 12px; font-weight: 700;
  font-size: 14px; }
.button.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
.button.danger { background: #e01e5a; color: #fff; border-color: #e01e5a; }
""".replace("WIDTH", str(WIDTH))


def sample_card(workdir: Path) -> dict[str, Any]:
    """A real card: the contact texted STOP to one number, an agent opted them out of another."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{workdir / 'card.db'}",
        rules_path=ROOT / "rules.yml",
        slack_optin_users=[BOSS],
    )
    migrate(settings)
    services = build_services(settings)
    try:
        consent = services.consent
        consent.clock = lambda: datetime(2026, 11, 24, 16, 42, tzinfo=UTC)
        stop = InboundMessage("twilio", "SM" + "0001" * 8, CONTACT, OWN_NUMBER, "Stop please",
                              consent.clock())  # fmt: skip
        consent.receive_message(stop)
        consent.clock = lambda: datetime(2026, 11, 26, 9, 14, tzinfo=UTC)
        consent.opt_out(CONTACT, PROMO_NUMBER, agent("T0ACME", AGENT), "wrong number")
        ctx = BotContext(settings, consent, OptinPolicy(settings, None))  # type: ignore[arg-type]
        return card_reply(ctx, CONTACT, BOSS)  # as the agent allowed to opt in sees it
    finally:
        services.close()


def mrkdwn(text: str) -> str:
    """Slack mrkdwn (already &-escaped by the bot) as HTML."""
    text = text.replace('"', "&quot;")

    def token(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner.startswith("@"):
            name = NAMES.get(inner[1:], inner[1:])
            return f'<span class="mention">@{html.escape(name)}</span>'
        if inner.startswith("!date^"):
            stamp = int(inner.split("^")[1])
            moment = datetime.fromtimestamp(stamp, UTC)
            return f'<span class="date">{moment:%b %d, %Y} at {moment:%H:%M}</span>'
        if inner.startswith("!subteam^"):
            return '<span class="mention">@opt-in-team</span>'
        return html.escape(inner.split("|")[-1])

    text = re.sub(r"<([^<>]+)>", token, text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", text)
    text = re.sub(r"(?<!\w)_([^_\n]+)_(?!\w)", r"<i>\1</i>", text)
    text = re.sub(r":([a-z_]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), text)
    return text.replace("\n", "<br>")


def block_html(block: dict[str, Any]) -> str:
    """One block as HTML."""
    kind = block["type"]
    if kind == "header":
        return f'<div class="header">{html.escape(block["text"]["text"])}</div>'
    if kind == "section" and "fields" in block:
        cells = "".join(f"<div>{mrkdwn(f['text'])}</div>" for f in block["fields"])
        return f'<div class="fields">{cells}</div>'
    if kind == "section":
        return f'<div class="section">{mrkdwn(block["text"]["text"])}</div>'
    if kind == "context":
        parts = " ".join(mrkdwn(e["text"]) for e in block["elements"])
        return f'<div class="context">{parts}</div>'
    if kind == "actions":
        buttons = "".join(
            f'<span class="button {e.get("style", "")}">{html.escape(e["text"]["text"])}</span>'
            for e in block["elements"]
        )
        return f'<div class="actions">{buttons}</div>'
    raise ValueError(f"this renderer does not draw {kind} blocks")


def page(blocks: list[dict[str, Any]]) -> str:
    """A Slack-like message holding the blocks."""
    body = "".join(block_html(block) for block in blocks)
    return (
        f'<!doctype html><meta charset="utf-8"><style>{CSS}</style>'
        '<div class="msg"><div class="avatar">S</div><div>'
        '<div class="who"><b>stopline</b><span class="app">APP</span>'
        '<span class="time">9:14 AM</span></div>'
        '<div class="only">Only visible to you</div>'
        f"{body}</div></div>"
    )


def screenshot(source: Path, out: Path, height: int) -> None:
    """Headless Chromium's screenshot of a local HTML file."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium not found: apt-get install chromium (or use --html-only)")
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--force-device-scale-factor=2", f"--window-size={WIDTH},{height}",
         f"--screenshot={out}", source.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def main() -> None:
    """Build the card, write its HTML, screenshot it into docs/status-card.png."""
    with tempfile.TemporaryDirectory() as workdir:
        reply = sample_card(Path(workdir))
        source = Path(workdir) / "card.html"
        source.write_text(page(reply["blocks"]), encoding="utf-8")
        if "--html-only" in sys.argv:
            print(source.read_text(encoding="utf-8"))
            return
        height = int(sys.argv[sys.argv.index("--height") + 1]) if "--height" in sys.argv else 420
        screenshot(source, OUT, height)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
