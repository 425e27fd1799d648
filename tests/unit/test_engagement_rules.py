"""The rules after sending, free of I/O: bounce kinds, VERP and tracking tokens, the soft
bounce streak, UTM tags, the tracking plan applied to a message, the rates shown."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from domain.bounces import BounceKind, SoftStreak, Verp, find_status, next_soft_streak, status_kind
from domain.delivery import Message, Outbound, RunContent
from domain.engagement import EngagementReport, LinkClicks, RunEngagement, share
from domain.errors import InvalidInput
from domain.mailings import Channel, Mailing
from domain.recipients import AddressKind
from domain.runs import MailingRun, RunTotals
from domain.signing import Signer, base32_lower, to_base36
from domain.tracking import (
    TrackingUrls,
    is_trackable,
    probable_bot,
    run_links,
    slug,
    with_utm,
)
from domain.tracking_plan import (
    Switch,
    TrackingPlan,
    clean_utm_content,
    switched,
    tracking_on,
    utm_on,
    with_utm_content,
)

SIGNER = Signer(b"unit-secret")
URLS = TrackingUrls(SIGNER, "https://bot.example.com/")
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


# -- bounce kinds -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "diagnostic", "kind"),
    [
        ("5.1.1", "550 5.1.1 user unknown", BounceKind.hard),
        ("5.0.0", "", BounceKind.hard),
        ("4.4.1", "connection timed out", BounceKind.soft),
        ("5.2.2", "552 5.2.2 mailbox full", BounceKind.soft),  # the mailbox exists
        ("4.2.2", "over quota", BounceKind.soft),
        ("5.3.1", "mail system full", BounceKind.soft),
        ("5.7.1", "554 5.7.1 message rejected as spam", BounceKind.soft),  # about the letter
        ("5.7.1", "550 5.7.1 No such user!", BounceKind.hard),  # Yandex says it so
        ("5.7.1", "550 5.7.1 Нет такого пользователя", BounceKind.hard),
    ],
)
def test_a_status_code_decides_hard_or_soft(
    status: str, diagnostic: str, kind: BounceKind
) -> None:
    assert status_kind(status, diagnostic=diagnostic) is kind


def test_without_a_status_code_the_reports_own_word_decides() -> None:
    assert status_kind(None, permanent=True) is BounceKind.hard
    assert status_kind("", permanent=False) is BounceKind.soft
    assert status_kind("no code here", permanent=False) is BounceKind.soft


def test_the_status_code_is_found_inside_a_diagnostic() -> None:
    assert find_status("smtp; 550 5.1.1 <olga@corp.ru>: Recipient address rejected") == "5.1.1"
    assert find_status("452 4.2.2 Mailbox full") == "4.2.2"
    assert find_status("550 Mailbox unavailable") is None
    assert find_status("version 1.2.3") is None  # not a class 2, 4 or 5 code


# -- tokens ------------------------------------------------------------------------------
def test_a_compact_token_reads_back_its_numbers_in_any_letter_case() -> None:
    token = SIGNER.compact(b"p:", 7, 123_456_789)
    assert SIGNER.read_compact(b"p:", token, 2) == (7, 123_456_789)
    assert SIGNER.read_compact(b"p:", token.upper(), 2) == (7, 123_456_789)  # relays may shout


def test_tokens_are_the_standard_hmac_and_base_32_so_old_links_keep_working() -> None:
    for numbers in ((7, 42), (1, 987_654_321, 3), (0,)):
        payload = "-".join(to_base36(n) for n in numbers)
        mac = hmac.new(b"unit-secret", b"open:" + payload.encode(), hashlib.sha256).digest()
        expected = f"{payload}-{base64.b32encode(mac[:10]).decode().lower()}"
        assert SIGNER.compact(b"open:", *numbers) == expected
    for data in (b"", b"\x00" * 5, bytes(range(10)), b"\xff" * 15, b"abc"):
        assert base32_lower(data) == base64.b32encode(data).decode().lower()


def test_a_token_is_refused_when_altered_for_another_purpose_or_another_secret() -> None:
    token = SIGNER.compact(b"open:", 7, 42)
    payload, _, mac = token.rpartition("-")
    altered = f"{payload[:-1]}{'3' if payload[-1] != '3' else '4'}-{mac}"
    assert SIGNER.read_compact(b"open:", altered, 2) is None
    assert SIGNER.read_compact(b"click:", token, 2) is None  # a pixel is not a link
    assert Signer(b"other").read_compact(b"open:", token, 2) is None
    assert SIGNER.read_compact(b"open:", token, 3) is None  # wrong shape
    assert SIGNER.read_compact(b"open:", "../../etc/passwd", 2) is None
    with pytest.raises(ValueError):
        Signer(b"")


def test_open_and_click_urls_name_their_run_and_delivery_only_when_genuine() -> None:
    pixel, link = URLS.open_url(5, 77), URLS.click_url(5, 77, 2)
    assert pixel.startswith("https://bot.example.com/o/") and "//o" not in pixel
    open_ref = URLS.read_open(pixel.rsplit("/", 1)[1] + ".gif")
    click_ref = URLS.read_click(link.rsplit("/", 1)[1])
    assert open_ref is not None and (open_ref.run_id, open_ref.delivery_id) == (5, 77)
    assert click_ref is not None and (click_ref.delivery_id, click_ref.index) == (77, 2)
    assert URLS.read_click(pixel.rsplit("/", 1)[1]) is None


def test_verp_addresses_fit_an_address_and_forged_ones_name_nothing() -> None:
    verp = Verp(SIGNER, "bounces@news.example.com")
    address = verp.address(123_456_789)
    local = address.partition("@")[0]
    assert address.endswith("@news.example.com") and len(local) <= 64
    assert verp.find(["To: " + address.upper()]) == (123_456_789, True)
    forged = address.replace(verp.token_of(123_456_789), verp.token_of(5)[:-1] + "a")
    assert verp.find([forged]) == (None, True)  # seen, but names nobody
    assert verp.find(["nothing here"]) == (None, False)
    for wrong in ("no-at-sign", "bounces+x@example.com", "@example.com"):
        with pytest.raises(ValueError):
            Verp(SIGNER, wrong)


# -- the soft bounce streak ----------------------------------------------------------------
def test_soft_bounces_of_mailing_after_mailing_make_a_streak() -> None:
    streak = next_soft_streak(SoftStreak(), 10, got_through=False)
    streak = next_soft_streak(streak, 11, got_through=False)
    streak = next_soft_streak(streak, 12, got_through=False)
    assert streak == SoftStreak(3, 12)


def test_a_second_report_about_the_same_mailing_counts_nothing() -> None:
    streak = SoftStreak(1, 10)
    assert next_soft_streak(streak, 10, got_through=False) == streak


def test_a_mail_that_got_through_in_between_starts_the_count_again() -> None:
    assert next_soft_streak(SoftStreak(2, 10), 14, got_through=True) == SoftStreak(1, 14)


def test_a_late_report_about_an_older_mailing_keeps_the_latest_run() -> None:
    assert next_soft_streak(SoftStreak(1, 12), 11, got_through=False) == SoftStreak(2, 12)


# -- UTM tags ------------------------------------------------------------------------------
def test_the_campaign_slug_is_latin_lower_case_and_never_empty() -> None:
    assert slug("Осенняя распродажа 2026!", "mailing-1") == "osennyaya-rasprodazha-2026"
    assert slug("Black Friday — -50%", "mailing-1") == "black-friday-50"
    assert slug("🎉🎉", "mailing-9") == "mailing-9"
    assert len(slug("word " * 40, "x")) <= 60


def test_utm_tags_go_on_links_without_any_and_keep_the_rest() -> None:
    url = with_utm("https://shop.example.com/a?id=7#top", medium="email", campaign="sale")
    assert url == (
        "https://shop.example.com/a?id=7&utm_source=mailforge&utm_medium=email"
        "&utm_campaign=sale#top"
    )
    tagged = "https://shop.example.com/?UTM_source=partner"
    assert with_utm(tagged, medium="email", campaign="sale") == tagged
    plain = with_utm("https://x.example/", medium="telegram", campaign="c", content="top banner")
    assert plain.endswith("utm_campaign=c&utm_content=top+banner")


def test_only_web_links_without_placeholders_are_tracked() -> None:
    assert is_trackable("https://shop.example.com/x")
    assert not is_trackable("tg://resolve?domain=shop")
    assert not is_trackable("mailto:help@example.com")
    assert not is_trackable("https://shop.example.com/{{ code }}")
    body = (
        '<a href="https://a.example/?q=1&amp;r=2">A</a> <a href="https://a.example/?q=1&amp;r=2">'
        'again</a> <a href="{{ own }}">x</a> <a href="tg://resolve?domain=x">tg</a>'
    )
    buttons = {"buttons": [[{"text": "B", "url": "https://b.example/"}]]}
    assert run_links(body, buttons) == ("https://a.example/?q=1&r=2", "https://b.example/")


def test_a_click_within_a_second_of_delivery_is_a_scanners() -> None:
    assert probable_bot(T0 + timedelta(milliseconds=300), T0)
    assert probable_bot(T0 - timedelta(seconds=5), T0)  # before the delivery was recorded
    assert not probable_bot(T0 + timedelta(seconds=2), T0)
    assert not probable_bot(T0, None)  # a delivery whose time is unknown


# -- the tracking plan --------------------------------------------------------------------
def content(channel: Channel, **options: object) -> RunContent:
    body = 'Hi <a href="https://shop.example.com/sale">sale</a> <a href="{{ own }}">own</a>'
    opts = {"buttons": [[{"text": "Go", "url": "https://shop.example.com/app"}]], **options}
    return RunContent(
        mailing_id=3,
        mailing_name="Sale",
        channel=channel,
        body=body,
        options=opts,
        links=run_links(body, opts),
    )


def message(c: RunContent) -> Message:
    outbound = Outbound(55, 9, 1, AddressKind.email, "ann@example.com", {}, 0)
    return Message(outbound, "Subject", c.body.replace("{{ own }}", "https://own.example/ann"))


def test_tracked_email_gets_a_pixel_and_links_through_the_redirect() -> None:
    c = content(Channel.email)
    plan = TrackingPlan.of(9, c, URLS)
    assert plan is not None
    sent = plan.apply(message(c))
    assert sent.open_url == URLS.open_url(9, 55)
    assert URLS.click_url(9, 55, 0) in sent.body
    assert 'href="https://own.example/ann"' in sent.body  # personal links go as they are
    assert sent.buttons == [[{"text": "Go", "url": URLS.click_url(9, 55, 1)}]]


def test_telegram_gets_tracked_links_and_no_pixel() -> None:
    c = content(Channel.telegram)
    plan = TrackingPlan.of(9, c, URLS)
    assert plan is not None and plan.apply(message(c)).open_url is None


def test_tracking_off_with_utm_on_leads_links_straight_to_their_tagged_targets() -> None:
    c = content(Channel.email, tracking=False, utm=True, utm_content="hero")
    plan = TrackingPlan.of(9, c, URLS)
    assert plan is not None
    sent = plan.apply(message(c))
    assert sent.open_url is None and "/c/" not in sent.body
    tagged = "https://shop.example.com/sale?utm_source=mailforge&amp;utm_medium=email"
    assert tagged in sent.body and "utm_campaign=sale&amp;utm_content=hero" in sent.body


def test_nothing_changes_without_tracking_and_utm_or_for_other_channels() -> None:
    assert TrackingPlan.of(9, content(Channel.email, tracking=False), URLS) is None
    assert TrackingPlan.of(9, content(Channel.email), None) is None  # TRACKING=false
    assert TrackingPlan.of(9, content(Channel.sendsay, utm=True), URLS) is None
    assert TrackingPlan.of(9, content(Channel.webhook), URLS) is None


# -- the mailing's switches ------------------------------------------------------------------
def test_tracking_is_on_and_utm_off_until_switched() -> None:
    assert tracking_on({}) and not utm_on({})
    options = switched(switched({}, Switch.tracking), Switch.utm)
    assert options == {"tracking": False, "utm": True}
    assert switched(options, Switch.tracking) == {"tracking": True, "utm": True}


def test_utm_content_is_one_short_line_and_turns_utm_on() -> None:
    assert clean_utm_content("  top   banner ") == "top banner"
    assert clean_utm_content("-") is None and clean_utm_content("") is None
    with pytest.raises(InvalidInput) as refused:
        clean_utm_content("x" * 101)
    assert refused.value.key == "dialog-utm-content-invalid"
    assert with_utm_content({"silent": True}, "top") == {
        "silent": True,
        "utm_content": "top",
        "utm": True,
    }
    assert with_utm_content({"utm": True, "utm_content": "top"}, None) == {"utm": True}


# -- what the statistics show ----------------------------------------------------------------
def report(channel: Channel, delivered: int, **counts: int) -> EngagementReport:
    run = MailingRun(mailing_id=1, scheduled_for=T0, totals=RunTotals(delivered=delivered), id=4)
    mailing = Mailing(owner_id=1, name="Sale", channel=channel, id=1)
    links = [LinkClicks(0, "https://a.example/", 3, 2)]
    return EngagementReport(mailing, run, channel, RunEngagement(**counts), links, True)


def test_rates_are_of_the_recipients_reached_each_counted_once() -> None:
    r = report(Channel.email, 200, opened=50, clicked=10, clicks=25)
    assert (r.open_rate, r.click_rate, r.click_to_open) == (25.0, 5.0, 20.0)
    assert r.counts_opens and r.bounces == 0
    assert not report(Channel.telegram, 10, clicked=1).counts_opens


def test_no_rate_is_made_up_when_nothing_was_delivered() -> None:
    r = report(Channel.email, 0, bounced=2, soft_bounced=1, complained=1)
    assert r.open_rate is None and r.click_rate is None and r.click_to_open is None
    assert r.bounces == 4
    assert share(1, 3) == pytest.approx(33.333, rel=1e-3)
