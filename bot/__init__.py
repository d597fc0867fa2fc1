"""The Slack bot for support agents (issue 3): opt out, opt in, status, export, the review queue."""
