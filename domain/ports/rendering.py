"""Filling a message for one recipient (``usecases.preview``, ``deliver``, ``mass_send``,
``follow_ups``, ``ab_tests``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class MessageRenderer(Protocol):
    """Fills a message template (Telegram HTML with ``{{ placeholders }}``) for one recipient.

    Runs in a sandbox: a template can read the recipient's attributes and nothing else.
    Values are HTML-escaped, so a recipient's name can never break the message's markup.
    A missing attribute renders as an empty string.

    A render has hard limits (loop steps, characters produced, time): over one, it raises
    ``InvalidInput("content-template-steps" | "-chars" | "-time", limit=..., detail=...)``.
    It may be CPU work of up to a few seconds: the bot calls it off its event loop.
    """

    def check(self, template: str) -> None:
        """Raise ``InvalidInput("content-template-error", detail=...)`` on a syntax error."""
        ...

    def placeholders(self, template: str) -> set[str]:
        """The attribute names the template reads (``{{ name }}``, ``{% if city %}``)."""
        ...

    def render(self, template: str, attributes: Mapping[str, object]) -> str: ...

    def render_text(self, template: str, attributes: Mapping[str, object]) -> str:
        """Plain text (an email subject): the same sandbox, values not HTML-escaped."""
        ...
