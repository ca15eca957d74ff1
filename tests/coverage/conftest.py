"""The browser fixtures of tests/web, for the planner page's test."""

from tests.web.conftest import browser, committed_user, live_server

__all__ = ["browser", "committed_user", "live_server"]
