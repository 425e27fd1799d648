"""How one run's messages are tracked and tagged, applied to each rendered message.

Email gets the open pixel and its links through the signed redirect; Telegram its links
and URL buttons (Telegram tells bots nothing about opens). With tracking off, links go
straight to their targets, with UTM tags when the mailing asks for them. Sendsay counts
clicks itself (``SENDSAY_RELINK``) and the webhook channel hands text to another system:
both are sent as they are.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any

from domain.buttons import rewrite_buttons
from domain.delivery import Message, RunContent
from domain.errors import InvalidInput
from domain.mailings import Channel
from domain.tracking import (
    TrackingUrls,
    UtmTags,
    link_targets,
    replace_links,
    slug,
)

_MEDIUM = {Channel.email: "email", Channel.telegram: "telegram"}
TRACKED_CHANNELS = frozenset(_MEDIUM)  # the channels whose messages a plan may change
UTM_CONTENT_MAX = 100


class Switch(enum.StrEnum):
    """A mailing's switches (keys of ``Mailing.options``; values travel in buttons)."""

    tracking = "tracking"  # opens and clicks; on unless switched off
    utm = "utm"  # UTM tags on links; off unless switched on


def tracking_on(options: dict[str, object]) -> bool:
    """A mailing's tracking switch (on unless switched off)."""
    return options.get(Switch.tracking.value, True) is not False


def utm_on(options: dict[str, object]) -> bool:
    """A mailing's UTM switch (off unless switched on)."""
    return options.get(Switch.utm.value) is True


def switched(options: dict[str, Any], switch: Switch) -> dict[str, Any]:
    """``options`` with ``switch`` turned the other way."""
    on = tracking_on(options) if switch is Switch.tracking else utm_on(options)
    return {**options, switch.value: not on}


def clean_utm_content(text: str) -> str | None:
    """``utm_content`` as typed: one line of at most ``UTM_CONTENT_MAX`` characters; empty
    or ``-`` removes it."""
    value = " ".join(text.split())
    if value in ("", "-"):
        return None
    if len(value) > UTM_CONTENT_MAX:
        raise InvalidInput("dialog-utm-content-invalid", max=UTM_CONTENT_MAX)
    return value


def with_utm_content(options: dict[str, Any], value: str | None) -> dict[str, Any]:
    """``options`` with ``utm_content`` set (which turns UTM tags on) or removed."""
    kept = {key: v for key, v in options.items() if key != "utm_content"}
    return {**kept, "utm_content": value, Switch.utm.value: True} if value else kept


def utm_tags(content: RunContent) -> UtmTags | None:
    medium = _MEDIUM.get(content.channel)
    if medium is None or not utm_on(content.options):
        return None
    extra = content.options.get("utm_content")
    return UtmTags(
        medium=medium,
        campaign=slug(content.mailing_name, f"mailing-{content.mailing_id}"),
        content=str(extra) if extra else None,
    )


@dataclass(frozen=True, slots=True)
class TrackingPlan:
    run_id: int
    content: RunContent
    targets: tuple[str, ...]  # where each of content.links leads (UTM tags added)
    urls: TrackingUrls | None  # None: not tracked, links lead straight to their targets

    @classmethod
    def of(
        cls, run_id: int, content: RunContent, urls: TrackingUrls | None
    ) -> TrackingPlan | None:
        """``urls``: tracking is on for the whole service (``TRACKING``); ``None`` when
        nothing is to change in this run's messages."""
        if content.channel not in _MEDIUM:
            return None
        tracked = urls if urls is not None and tracking_on(content.options) else None
        utm = utm_tags(content)
        if tracked is None and utm is None:
            return None
        return cls(run_id, content, tuple(link_targets(content.links, utm)), tracked)

    def apply(self, message: Message) -> Message:
        delivery_id = message.outbound.delivery_id
        index = {url: i for i, url in enumerate(self.content.links)}

        def swap(url: str) -> str | None:
            found = index.get(url)
            if found is None:
                return None
            if self.urls is None:
                return self.targets[found]
            return self.urls.click_url(self.run_id, delivery_id, found)

        rows = self.content.options.get("buttons")
        pixel = self.urls is not None and self.content.channel is Channel.email
        return dataclasses.replace(
            message,
            body=replace_links(message.body, swap),
            buttons=rewrite_buttons(rows, swap) if rows else None,
            open_url=self.urls.open_url(self.run_id, delivery_id) if pixel and self.urls else None,
        )
