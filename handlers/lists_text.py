"""How lists, their members and import reports read in the chat."""

from __future__ import annotations

import html
import re
from datetime import tzinfo

from domain.imports import REJECT_REASONS, ImportReport, RejectedLabels
from domain.pagination import Page
from domain.recipients import Address, ListSize, RecipientList
from domain.usecases.lists import ListView
from handlers.i18n import Raw, t


def sizes(size: ListSize) -> str:
    text = t("lists-sizes", email=size.email, telegram=size.telegram, other=size.webhook)
    if size.suppressed:
        text += " " + t("lists-suppressed-count", count=size.suppressed)
    return text


def source(rlist: RecipientList) -> str:
    label = t(f"lists-source-{rlist.source_kind.value}")
    return f"{label}: {rlist.source_ref}" if rlist.source_ref else label


def when(rlist: RecipientList, tz: tzinfo) -> str:
    stamp = rlist.updated_at or rlist.created_at
    return stamp.astimezone(tz).strftime("%d.%m.%Y %H:%M") if stamp else "—"


def index_text(views: list[ListView], tz: tzinfo) -> str:
    if not views:
        return t("lists-empty")
    lines = [t("lists-title", count=len(views))]
    for v in views:
        lines.append(
            t(
                "lists-line",
                name=v.rlist.name,
                sizes=Raw(sizes(v.size)),
                source=source(v.rlist),
                updated=when(v.rlist, tz),
            )
        )
    return "\n\n".join(lines)


def card_text(v: ListView, tz: tzinfo) -> str:
    return t(
        "lists-card",
        name=v.rlist.name,
        total=v.size.total,
        sizes=Raw(sizes(v.size)),
        source=source(v.rlist),
        updated=when(v.rlist, tz),
    )


def member_line(address: Address) -> str:
    name = address.attributes.get("name")
    line = f"• <code>{html.escape(address.value)}</code> ({t(f'kind-{address.kind.value}')})"
    if name:
        line += f" — {html.escape(str(name))}"
    if address.refused_at:
        line += " " + t("member-refused")
    elif address.unsubscribed_at:
        line += " " + t("member-unsubscribed")
    return line


def members_text(name: str, page: Page[Address], query: str | None) -> str:
    head = t("members-title", name=name, page=page.page + 1, pages=page.pages, total=page.total)
    if query:
        head = t("members-search-title", name=name, query=query, total=page.total)
    if not page.items:
        return head + "\n\n" + t("members-none")
    return head + "\n\n" + "\n".join(member_line(a) for a in page.items)


def report_text(report: ImportReport) -> str:
    text = t(
        "import-summary",
        rows=report.rows,
        added=report.added,
        already=report.already_there,
        duplicates=report.duplicates,
        invalid=report.invalid,
        suppressed=report.suppressed,
    )
    if report.attributes:
        fields = ", ".join(f"<code>{{{{ {html.escape(a)} }}}}</code>" for a in report.attributes)
        text += "\n" + t("import-attributes", fields=Raw(fields))
    if report.sample:
        text += "\n\n" + rejected_text(report)
    return text


def rejected_text(report: ImportReport) -> str:
    lines = [
        t("import-rejected-line", line=r.line, row=r.raw[:80], reason=t(r.reason))
        for r in report.sample
    ]
    return t("import-rejected-title") + "\n" + "\n".join(lines)


def plain(text: str) -> str:
    """A chat text (Telegram HTML) as plain text for a file."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def rejected_labels() -> RejectedLabels:
    """The rejected rows file in the current user's language."""
    return RejectedLabels(
        line=t("import-rejected-column-line"),
        reason=t("import-rejected-column-reason"),
        reasons={key: plain(t(key)) for key in REJECT_REASONS},
    )
