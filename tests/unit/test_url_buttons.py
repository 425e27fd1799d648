"""URL buttons (``domain.buttons``): one set of rules for the dialog's typed lines, any
change of a mailing's buttons (``mailings.update``, on the in-memory unit of work), what
a message carries and tracking's rewrite of the links."""

from __future__ import annotations

from typing import Any

import pytest

from domain.buttons import (
    TEXT_MAX,
    UrlButton,
    button_urls,
    check_buttons,
    parse_buttons,
    rewrite_buttons,
    url_buttons,
)
from domain.errors import InvalidInput
from domain.usecases import mailings
from domain.users import Role, User
from tests.fakes.memory_uow import MemoryDatabase

OWNER = 1
SHOP = {"text": "Shop", "url": "https://shop.example"}


def refusal(call: Any, *args: Any) -> tuple[str, dict[str, Any]]:
    with pytest.raises(InvalidInput) as refused:
        call(*args)
    return refused.value.key, dict(refused.value.params)


def test_typed_lines_become_rows_split_by_bars() -> None:
    rows = parse_buttons(
        " Shop - https://shop.example | Help - tg://resolve?domain=x \nNews - http://n.example"
    )
    assert rows == [
        [SHOP, {"text": "Help", "url": "tg://resolve?domain=x"}],
        [{"text": "News", "url": "http://n.example"}],
    ]
    assert parse_buttons(" - ") == []  # a single dash removes them all


def test_a_label_may_hold_a_dash_the_last_one_parts_it_from_the_link() -> None:
    assert parse_buttons("Sale - 50% - https://shop.example") == [
        [{"text": "Sale - 50%", "url": "https://shop.example"}]
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("Shop https://shop.example", 1),  # no " - "
        ("Shop - https://ok.example\n - https://shop.example", 2),  # no label
        ("Shop - ftp://shop.example", 1),
        ("Shop - javascript:alert(1)", 1),
        ("Shop - https://a.example | Mail - mailto:a@b.example", 1),
    ],
)
def test_a_bad_line_is_named(text: str, line: int) -> None:
    assert refusal(parse_buttons, text) == ("dialog-buttons-invalid", {"line": line})


def test_at_most_eight_rows_of_four_and_labels_cut_to_what_telegram_shows() -> None:
    four = " | ".join(["B - https://b.example"] * 4)
    assert len(parse_buttons("\n".join([four] * 8))) == 8
    assert refusal(parse_buttons, "\n".join([four] * 9))[0] == "dialog-buttons-too-many"
    assert refusal(parse_buttons, four + " | E - https://e.example")[0] == (
        "dialog-buttons-too-many"
    )
    [[long]] = parse_buttons("x" * 100 + " - https://b.example")
    assert long["text"] == "x" * TEXT_MAX


def test_buttons_given_as_data_follow_the_same_rules_and_are_stored_the_same() -> None:
    typed = parse_buttons("Shop - HTTPS://shop.example | Help - tg://x")
    given = check_buttons(
        [[{"text": " Shop ", "url": "HTTPS://shop.example"}, {"text": "Help", "url": "tg://x"}]]
    )
    assert given == typed
    assert check_buttons(None) == check_buttons([]) == []
    for bad in ("Shop", [SHOP], [[]], [["Shop"]], [[{"text": "Shop"}]], [[{"text": 1, "url": 2}]]):
        assert refusal(check_buttons, bad)[0] == "dialog-buttons-invalid"
    assert refusal(check_buttons, [[SHOP], [{"text": "x", "url": "file:///etc"}]]) == (
        "dialog-buttons-invalid",
        {"line": 2},
    )
    assert refusal(check_buttons, [[SHOP]] * 9)[0] == "dialog-buttons-too-many"


def test_a_message_carries_the_rows_and_tracking_rewrites_only_known_links() -> None:
    rows = [[SHOP, {"text": "Help", "url": "tg://x"}]]
    assert url_buttons(rows) == [
        [UrlButton("Shop", "https://shop.example"), UrlButton("Help", "tg://x")]
    ]
    assert url_buttons(None) == []
    assert button_urls({"buttons": rows}) == ["https://shop.example", "tg://x"]
    assert button_urls({}) == []
    swapped = rewrite_buttons(rows, lambda url: "https://t.example/c/1" if "shop" in url else None)
    assert swapped == [[{"text": "Shop", "url": "https://t.example/c/1"}, rows[0][1]]]
    assert rows[0][0] == SHOP  # the stored rows stay as they are


async def test_a_mailings_buttons_are_checked_whoever_changes_them() -> None:
    db = MemoryDatabase(users=[User(OWNER, role=Role.manager)])
    mailing = await mailings.create_draft(db.uow_factory, OWNER, "News", "UTC")
    mid = mailing.id or 0
    given = [[{"text": "Shop", "url": "HTTPS://shop.example"}]]
    stored = await mailings.update(db.uow_factory, OWNER, mid, options={"buttons": given})
    assert stored.options["buttons"] == [[SHOP]]  # as the dialog would store them
    with pytest.raises(InvalidInput) as refused:
        bad = [[{"text": "Shop", "url": "javascript:alert(1)"}]]
        await mailings.update(db.uow_factory, OWNER, mid, options={"buttons": bad})
    assert refused.value.key == "dialog-buttons-invalid"
    assert db.mailings[mid].options["buttons"] == [[SHOP]]  # nothing stored
    # other options change with the buttons left as they are
    kept = await mailings.update(
        db.uow_factory, OWNER, mid, options={**db.mailings[mid].options, "silent": True}
    )
    assert kept.options == {"buttons": [[SHOP]], "silent": True}
