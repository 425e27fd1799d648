"""Building runs and messages for the channel tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.delivery import Message, Outbound, Outcome, RunContent, SendResult
from domain.mailings import Channel
from domain.recipients import AddressKind


def content(channel: Channel, body: str = "<b>Hi</b>", **fields: Any) -> RunContent:
    return RunContent(
        mailing_id=7, mailing_name="Spring news", channel=channel, body=body, **fields
    )


def messages(
    kind: AddressKind,
    values: Sequence[str],
    body: str = "<b>Hi</b> there",
    *,
    subject: str | None = None,
    attributes: dict[str, Any] | None = None,
    first_id: int = 1,
) -> list[Message]:
    return [
        Message(
            Outbound(
                delivery_id=first_id + n,
                run_id=3,
                address_id=100 + first_id + n,
                kind=kind,
                value=value,
                attributes=dict(attributes or {}),
                attempts=0,
            ),
            subject,
            body,
        )
        for n, value in enumerate(values)
    ]


def by_id(results: Sequence[SendResult]) -> dict[int, SendResult]:
    found = {r.delivery_id: r for r in results}
    assert len(found) == len(results), "one result per message"
    return found


def outcomes(results: Sequence[SendResult]) -> dict[int, Outcome]:
    return {r.delivery_id: r.outcome for r in by_id(results).values()}
