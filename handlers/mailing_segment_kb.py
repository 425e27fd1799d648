"""The segment screen of the lists step: its text (conditions, exclusions, the live count)
and its keyboards. Built with buttons only; values are typed, never SQL."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.local_time import LOCAL_TIME, LocalTime
from domain.mailings import Mailing
from domain.recipients import Audience
from domain.saved_segments import SavedSegment
from domain.segments import FIELD_OPS, TAGS, Condition, Match, Op, Segment
from handlers.i18n import t

MAX_FIELDS = 40  # fields on one keyboard (Telegram allows 100 buttons)
MAX_DROPS = 8  # "remove condition N" buttons


class SegAct(StrEnum):
    """Values travel in callback data: keep them."""

    open = "open"  # the segment screen
    add = "add"  # choose a field
    field = "field"  # a field was chosen (value: its index among the fields)
    op = "op"  # an operator was chosen (value: Op)
    drop = "drop"  # remove condition (value: index)
    match = "match"  # all ⇄ any
    saved = "saved"  # offer the saved segments
    use = "use"  # use a saved one (value: id)
    exclude = "excl"  # leave out those matching a saved one (value: id)
    save = "save"  # ask a name to save this one under
    lists = "xlists"  # offer lists to leave out
    xlist = "xlist"  # leave out one list or take it back (value: id)
    mailings = "xmail"  # offer mailings whose recipients or clickers to leave out
    got = "got"  # leave out who got a mailing, or take them back (value: id)
    clicked = "click"  # leave out who clicked in a mailing (value: id)
    done = "done"  # back to the lists
    local = "local"  # ask the local time each recipient gets it at
    local_off = "local_off"  # everyone at once again
    zone = "zone"  # the zone field was chosen (value: its index among the fields)
    zone_none = "zone_none"  # no zone field: everyone in the default zone


class SegmentCD(CallbackData, prefix="sg"):
    action: SegAct
    value: str = ""


def button(
    kb: InlineKeyboardBuilder, key: str, action: SegAct, value: str = "", **kw: object
) -> None:
    kb.button(text=t(key, **kw), callback_data=SegmentCD(action=action, value=value))


def describe(condition: Condition) -> str:
    value = condition.value
    if isinstance(value, tuple):
        shown = ", ".join(value)
    elif isinstance(value, float) and value.is_integer():
        shown = str(int(value))
    else:
        shown = "" if value is None else str(value)
    return t(f"segment-op-{condition.op.value}", field=condition.field, value=shown)


def segment_lines(segment: Segment) -> list[str]:
    return [f"{i}. {describe(c)}" for i, c in enumerate(segment.conditions, start=1)]


def segment_text(
    mailing: Mailing,
    audience: Audience,
    list_names: dict[int, str],
    mailing_names: dict[int, str] | None = None,
) -> str:
    targeting = mailing.targeting
    lines = [t("segment-title")]
    if targeting.segment.is_empty:
        lines.append(t("segment-everyone"))
    else:
        lines.append(t(f"segment-match-{targeting.segment.match.value}"))
        lines += segment_lines(targeting.segment)
    excluded = [list_names.get(i, f"#{i}") for i in targeting.exclude_lists]
    if excluded:
        lines.append(t("segment-except-lists", names=", ".join(excluded)))
    named = mailing_names or {}
    for key, ids in (
        ("segment-except-got", targeting.exclude_got),
        ("segment-except-clicked", targeting.exclude_clicked),
    ):
        if ids:
            lines.append(t(key, names=", ".join(named.get(i, f"#{i}") for i in ids)))
    if not targeting.exclude_segment.is_empty:
        name = targeting.exclude_segment_name or "—"
        lines.append(t("segment-except-segment", name=name))
    local = LocalTime.from_json(mailing.options.get(LOCAL_TIME))
    if local is not None:
        lines.append(local_line(local))
    lines.append("")
    lines.append(t("segment-count", count=audience.reachable))
    if audience.reachable == 0:
        lines.append(t("segment-empty"))
    return "\n".join(lines)


def segment_keyboard(mailing: Mailing) -> InlineKeyboardMarkup:
    segment = mailing.targeting.segment
    kb = InlineKeyboardBuilder()
    rows: list[int] = []
    button(kb, "segment-add", SegAct.add)
    rows.append(1)
    drops = min(len(segment.conditions), MAX_DROPS)
    for index in range(drops):
        button(kb, "segment-drop", SegAct.drop, str(index), number=index + 1)
    if drops:
        rows.append(drops if drops <= 4 else 4)
        if drops > 4:
            rows.append(drops - 4)
    if len(segment.conditions) > 1:
        other = Match.any if segment.match is Match.all else Match.all
        button(kb, f"segment-switch-{other.value}", SegAct.match)
        rows.append(1)
    button(kb, "segment-except-lists-button", SegAct.lists)
    button(kb, "segment-except-mailings-button", SegAct.mailings)
    button(kb, "segment-saved-button", SegAct.saved)
    rows += [2, 1]
    if not segment.is_empty:
        button(kb, "segment-save-button", SegAct.save)
        rows.append(1)
    local = LocalTime.from_json(mailing.options.get(LOCAL_TIME))
    when = local.at.strftime("%H:%M") if local and local.at else t("on" if local else "off")
    button(kb, "local-button", SegAct.local, when=when)
    button(kb, "segment-done", SegAct.done)
    rows += [1, 1]
    kb.adjust(*rows)
    return kb.as_markup()


def fields_keyboard(fields: list[str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    shown = fields[:MAX_FIELDS]
    for index, name in enumerate(shown):
        label = t("segment-field-tags") if name == TAGS else name
        kb.button(text=label[:60], callback_data=SegmentCD(action=SegAct.field, value=str(index)))
    button(kb, "button-back", SegAct.open)
    kb.adjust(*([2] * (len(shown) // 2)), *([1] if len(shown) % 2 else []), 1)
    return kb.as_markup()


def ops_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for op in FIELD_OPS:
        button(kb, f"segment-op-button-{op.value}", SegAct.op, op.value)
    button(kb, "button-back", SegAct.open)
    kb.adjust(2, 2, 2, 2, 2, 2, 1)
    return kb.as_markup()


def saved_keyboard(saved: list[SavedSegment]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for item in saved[:MAX_FIELDS]:
        assert item.id is not None
        button(kb, "segment-use", SegAct.use, str(item.id), name=item.name[:40])
        button(kb, "segment-exclude", SegAct.exclude, str(item.id), name=item.name[:40])
    button(kb, "button-back", SegAct.open)
    kb.adjust(*([2] * min(len(saved), MAX_FIELDS)), 1)
    return kb.as_markup()


def exclude_lists_keyboard(
    lists: list[tuple[int, str]], excluded: tuple[int, ...]
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for list_id, name in lists[:MAX_FIELDS]:
        mark = "🚫 " if list_id in excluded else "▫️ "
        kb.button(
            text=f"{mark}{name}"[:60],
            callback_data=SegmentCD(action=SegAct.xlist, value=str(list_id)),
        )
    button(kb, "button-back", SegAct.open)
    kb.adjust(*([1] * min(len(lists), MAX_FIELDS)), 1)
    return kb.as_markup()


def value_hint(op: Op) -> str:
    return t(f"segment-ask-{op.value}")


def exclude_mailings_keyboard(
    mailings: list[tuple[int, str]], got: tuple[int, ...], clicked: tuple[int, ...]
) -> InlineKeyboardMarkup:
    """Two switches per mailing: leave out who got it, who clicked in it."""
    kb = InlineKeyboardBuilder()
    for mailing_id, name in mailings:
        for action, chosen, key in (
            (SegAct.got, got, "segment-got"),
            (SegAct.clicked, clicked, "segment-clicked"),
        ):
            mark = "🚫 " if mailing_id in chosen else "▫️ "
            kb.button(
                text=mark + t(key, name=name[:30]),
                callback_data=SegmentCD(action=action, value=str(mailing_id)),
            )
    button(kb, "button-back", SegAct.open)
    kb.adjust(*([2] * len(mailings)), 1)
    return kb.as_markup()


def local_line(local: LocalTime) -> str:
    at = local.at.strftime("%H:%M") if local.at else None
    key = "local-line-at" if at else "local-line-now"
    text = t(key, at=at or "", field=local.field or "—", zone=local.default_zone)
    if local.quiet:
        start, end = (q.strftime("%H:%M") for q in local.quiet)
        text += "\n" + t("local-line-quiet", start=start, end=end)
    return text


def zone_fields_keyboard(fields: list[str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    shown = [f for f in fields if f != TAGS][:MAX_FIELDS]
    for index, name in enumerate(shown):
        kb.button(text=name[:60], callback_data=SegmentCD(action=SegAct.zone, value=str(index)))
    button(kb, "local-no-field", SegAct.zone_none)
    button(kb, "button-back", SegAct.open)
    kb.adjust(*([2] * (len(shown) // 2)), *([1] if len(shown) % 2 else []), 1, 1)
    return kb.as_markup()


def local_ask_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    button(kb, "local-off", SegAct.local_off)
    button(kb, "button-back", SegAct.open)
    kb.adjust(1, 1)
    return kb.as_markup()
