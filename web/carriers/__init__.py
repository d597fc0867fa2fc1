"""The carriers' doors, one module each; web/app.py registers every blueprint listed here."""

from __future__ import annotations

from flask import Blueprint

from web.carriers import bandwidth, twilio

BLUEPRINTS: tuple[Blueprint, ...] = (twilio.bp, bandwidth.bp)
