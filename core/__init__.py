"""stopline's domain: consent states, transitions, phone numbers and the ledger's services.

This package imports no web framework, no Slack SDK and no rules engine.
"""
