"""One recipient's message: the values a template reads and the text it renders to.

The one place that says how a message is personalised, used wherever a recipient's copy
is made: the preview and the content checks (``usecases.preview``, ``ab_tests``), a test
send (its sample recipient's values, ``usecases.launch``), each personal send and edit
(``usecases.deliver``) and the members pushed for a mass send (``usecases.mass_send``:
the provider fills the same values in). How a provider escapes a value inside a link is
the adapter's business (``infrastructure/channels/sendsay_mass.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.content import one_line
from domain.mailings import Channel
from domain.ports.rendering import MessageRenderer
from domain.recipients import Address, AddressKind
from domain.unsubscribe import with_unsubscribe_link


def recipient_values(address: Address) -> dict[str, Any]:
    """What a template may read: the address's attributes plus the address itself
    (``address``, and ``email`` for an email; an attribute of that name wins)."""
    values: dict[str, Any] = dict(address.attributes)
    values.setdefault("address", address.value)
    if address.kind is AddressKind.email:
        values.setdefault("email", address.value)
    return values


@dataclass(frozen=True, slots=True)
class Personal:
    """A message rendered for one recipient. ``subject`` as rendered; ``subject_line``
    is what a header carries (one line, whatever the values held)."""

    body: str
    subject: str | None

    @property
    def subject_line(self) -> str | None:
        return one_line(self.subject) if self.subject is not None else None


def render_personal(
    renderer: MessageRenderer,
    channel: Channel,
    body: str,
    subject: str | None,
    values: Mapping[str, Any],
) -> Personal:
    """``body`` and ``subject`` filled with one recipient's ``values`` for ``channel``
    (an email's ``{{ unsubscribe_url }}`` is left as a mark its channel replaces). A
    blank body is no text at all (a media item without caption). Raises the renderer's
    ``InvalidInput`` (a broken template, a render over its limits)."""
    values = with_unsubscribe_link(channel, dict(values))
    text = renderer.render(body, values) if body.strip() else ""
    # A subject is plain text (a header): the same values, not HTML-escaped.
    title = renderer.render_text(subject, values) if subject else None
    return Personal(text, title)


def template_keys(renderer: MessageRenderer, body: str, subject: str | None) -> set[str]:
    """The values a message reads: what a mass send pushes for each member."""
    keys = renderer.placeholders(body)
    if subject:
        keys |= renderer.placeholders(subject)
    return keys


def member_values(address: Address, keys: Iterable[str]) -> dict[str, str]:
    """One member of a mass send: the text of each value its message reads (a missing
    one is empty, as a render leaves it), for the provider to fill in."""
    values = recipient_values(address)
    return {key: _text(values.get(key)) for key in sorted(keys)}


def _text(value: object) -> str:
    return "" if value is None else str(value)
