"""The carriers' doors, one module each; web/app.py registers every blueprint listed here."""

from __future__ import annotations

from flask import Blueprint

from web.carriers import bandwidth, plivo, sinch, telnyx, twilio, vonage

BLUEPRINTS: tuple[Blueprint, ...] = (
    twilio.bp, telnyx.bp, plivo.bp, bandwidth.bp, vonage.bp, sinch.bp,
)  # fmt: skip
