"""Who may do what from Slack: listed user ids and/or members of one user group, per right.

Two rights: opting contacts back in (STOPLINE_SLACK_OPTIN_*) and exporting the opted-out list
(STOPLINE_SLACK_EXPORT_*, which falls back to the opt-in right while neither is set). Each
user group's members are cached for STOPLINE_SLACK_OPTIN_CACHE_SECONDS; a failed look-up
refuses (fail closed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from core.config import Settings

log = logging.getLogger(__name__)
Clock = Callable[[], float]


class UsergroupCache:
    """The members of Slack user groups, each list kept for `ttl` seconds."""

    def __init__(self, client: WebClient, ttl: float, clock: Clock = time.monotonic) -> None:
        self.client = client
        self.ttl = ttl
        self.clock = clock
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def cached(self, group: str) -> frozenset[str] | None:
        """The group's members if a fresh answer is at hand, else None."""
        with self._lock:
            found = self._members.get(group)
            if found is not None and self.clock() - found[0] < self.ttl:
                return found[1]
            return None

    def members(self, group: str) -> frozenset[str]:
        """The group's members (asking Slack when the cache is stale); empty when Slack fails."""
        with self._lock:
            now = self.clock()
            found = self._members.get(group)
            if found is not None and now - found[0] < self.ttl:
                return found[1]
            try:
                answer = self.client.usergroups_users_list(usergroup=group)
            except (SlackApiError, SlackClientError, OSError) as exc:
                # Fail closed: without the group's answer nobody outside the user lists passes.
                log.warning("usergroups.users.list failed for %s: %s", group, exc)
                self._members.pop(group, None)
                return frozenset()
            members = frozenset(answer.get("users") or [])
            self._members[group] = (now, members)
            return members


class Permission:
    """One right: the listed users and the members of one user group have it."""

    def __init__(
        self,
        users: list[str],
        usergroup: str | None,
        groups: UsergroupCache,
        *,
        doing: str,
        users_setting: str,
        usergroup_setting: str,
    ) -> None:
        self.users = frozenset(users)
        self.usergroup = usergroup or None
        self.groups = groups
        self.doing = doing  # "opt contacts in"
        self.users_setting = users_setting
        self.usergroup_setting = usergroup_setting

    @property
    def configured(self) -> bool:
        """False when nobody at all has this right."""
        return bool(self.users or self.usergroup)

    def allows(self, user_id: str) -> bool:
        """True when this Slack user has the right; a failed group look-up refuses."""
        if user_id in self.users:
            return True
        if not self.usergroup:
            return False
        return user_id in self.groups.members(self.usergroup)

    def known(self, user_id: str) -> bool | None:
        """The answer without asking Slack, or None when the user group must be looked up."""
        if user_id in self.users:
            return True
        if not self.usergroup:
            return False
        members = self.groups.cached(self.usergroup)
        return None if members is None else user_id in members

    def explain(self) -> str:
        """What a refused agent is told: who has the right and which setting gives it."""
        if not self.configured:
            return (
                f"Nobody may {self.doing} from Slack yet: an admin sets "
                f"{self.users_setting} (Slack user ids) or {self.usergroup_setting}."
            )
        group = f" or members of <!subteam^{self.usergroup}>" if self.usergroup else ""
        return f"Only agents listed in {self.users_setting}{group} may {self.doing}."


class OptinPolicy(Permission):
    """Checks an agent's right to opt in; the user group's members are cached for a short while."""

    def __init__(
        self,
        settings: Settings,
        client: WebClient,
        clock: Clock = time.monotonic,
        groups: UsergroupCache | None = None,
    ) -> None:
        super().__init__(
            settings.slack_optin_users,
            settings.slack_optin_usergroup,
            groups or UsergroupCache(client, settings.slack_optin_cache_seconds, clock),
            doing="opt contacts in",
            users_setting="STOPLINE_SLACK_OPTIN_USERS",
            usergroup_setting="STOPLINE_SLACK_OPTIN_USERGROUP",
        )


class ExportPolicy(Permission):
    """Who may export the opted-out list: STOPLINE_SLACK_EXPORT_*, else the opt-in agents."""

    def __init__(self, settings: Settings, optin: OptinPolicy) -> None:
        own = bool(settings.slack_export_users or settings.slack_export_usergroup)
        super().__init__(
            settings.slack_export_users if own else settings.slack_optin_users,
            settings.slack_export_usergroup if own else settings.slack_optin_usergroup,
            optin.groups,  # one cache: a group named in both settings is asked about once
            doing="export the opted-out list",
            users_setting="STOPLINE_SLACK_EXPORT_USERS",
            usergroup_setting="STOPLINE_SLACK_EXPORT_USERGROUP",
        )
        self.own = own

    def explain(self) -> str:
        """Who may export, naming the export settings even while the opt-in ones stand in."""
        if self.own:
            return super().explain()
        admin = (
            "An admin gives the right with STOPLINE_SLACK_EXPORT_USERS (Slack user ids) or "
            "STOPLINE_SLACK_EXPORT_USERGROUP."
        )
        if not self.configured:
            return f"Nobody may export the opted-out list from Slack yet. {admin}"
        group = f" or members of <!subteam^{self.usergroup}>" if self.usergroup else ""
        return (
            "While STOPLINE_SLACK_EXPORT_USERS and STOPLINE_SLACK_EXPORT_USERGROUP are unset, "
            f"only the agents who may opt contacts in (STOPLINE_SLACK_OPTIN_USERS{group}) may "
            f"export the opted-out list. {admin}"
        )
