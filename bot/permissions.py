"""Who may opt contacts back in from Slack: listed user ids and/or members of one user group."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from core.config import Settings

log = logging.getLogger(__name__)


class OptinPolicy:
    """Checks an agent's right to opt in; the user group's members are cached for a short while."""

    def __init__(
        self,
        settings: Settings,
        client: WebClient,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = frozenset(settings.slack_optin_users)
        self.usergroup = settings.slack_optin_usergroup or None
        self.ttl = settings.slack_optin_cache_seconds
        self.client = client
        self.clock = clock
        self._members: frozenset[str] = frozenset()
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        """False when nobody at all may opt in from Slack."""
        return bool(self.users or self.usergroup)

    def allows(self, user_id: str) -> bool:
        """True when this Slack user may opt contacts in; a failed group lookup refuses."""
        if user_id in self.users:
            return True
        if not self.usergroup:
            return False
        return user_id in self._group_members()

    def explain(self) -> str:
        """What a refused agent is told about who may opt in."""
        if not self.configured:
            return (
                "Nobody may opt contacts in from Slack yet: an admin sets "
                "STOPLINE_SLACK_OPTIN_USERS (Slack user ids) or STOPLINE_SLACK_OPTIN_USERGROUP."
            )
        group = f" or members of <!subteam^{self.usergroup}>" if self.usergroup else ""
        return f"Only agents listed in STOPLINE_SLACK_OPTIN_USERS{group} may opt contacts in."

    def _group_members(self) -> frozenset[str]:
        with self._lock:
            now = self.clock()
            if self._fetched_at is not None and now - self._fetched_at < self.ttl:
                return self._members
            try:
                answer = self.client.usergroups_users_list(usergroup=self.usergroup or "")
            except (SlackApiError, SlackClientError, OSError) as exc:
                # Fail closed: without the group's answer nobody outside the user list opts in.
                log.warning("usergroups.users.list failed for %s: %s", self.usergroup, exc)
                self._fetched_at = None
                return frozenset()
            self._members = frozenset(answer.get("users") or [])
            self._fetched_at = now
            return self._members
