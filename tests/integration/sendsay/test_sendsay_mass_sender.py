"""SendsayMassSender against the strict fake over HTTP, step by step: the audience looked
up before it is made, member data under ``<anketa>.<quest>``, personalised letters, the
issue found wherever Sendsay shows it, statuses that settle only on -1, the report and the
exclusion counts, and what each Sendsay answer the document leaves open degrades to."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from domain.delivery import Outcome, RunContent
from domain.mailings import Channel
from domain.mass_send import MassSendError, MassSendMember
from infrastructure.channels.sendsay_mass import SendsayMassSender, group_id
from infrastructure.sendsay import SendsayClient
from tests.fakes.sendsay import DONE, MODERATION, TAKEN, FakeSendsay, Variants
from tests.integration.sendsay.conftest import ACCOUNT, API_KEY

SENDER = "news@acme.example"
BODY = "<b>Hello</b> {{ first_name }} from {{ city }}"
SUBJECT = "News for {{ first_name }}"
QUEST = {"name": "", "type": "free"}


@pytest.fixture(autouse=True)
def confirmed_sender(fake: FakeSendsay) -> None:
    fake.confirm_sender(SENDER)


def content(body: str = BODY, subject: str | None = SUBJECT) -> RunContent:
    return RunContent(1, "Digest", Channel.sendsay, body, subject)


def member(email: str, first_name: str, city: str = "Omsk") -> MassSendMember:
    return MassSendMember(email, {"city": city, "first_name": first_name})


def mass_sender(client: SendsayClient, *, relink: bool = True) -> SendsayMassSender:
    return SendsayMassSender(client, sender=f"News <{SENDER}>", relink=relink, track_poll=0.01)


async def send(
    sender: SendsayMassSender,
    members: list[MassSendMember],
    run_id: int = 1,
    what: RunContent | None = None,
) -> dict[str, Any]:
    """Open, push, send, and poll until Sendsay is done; the send's ``ref``."""
    what = what or content()
    await sender.open_audience(run_id, what)
    await sender.push_members(run_id, what, members)
    ref = await sender.mass_send(run_id, what)
    while not await sender.settled(ref):
        pass
    return ref


async def test_the_audience_is_looked_up_before_anything_is_made(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    sender = mass_sender(client)
    await sender.open_audience(1, content())
    made = fake.actions()
    fake.requests.clear()
    await mass_sender(client).open_audience(2, content())  # a new process: nothing cached

    assert made == [
        "group.get",
        "group.create",
        "anketa.get",
        "anketa.create",
        "anketa.quest.add",
    ]
    assert fake.actions() == ["group.get", "group.create", "anketa.get"]  # the anketa is there
    assert set(fake.anketas["mailforge"]["quests"]) == {"city", "first_name"}
    created = fake.bodies("group.create")[0]
    assert created == {
        "action": "group.create",
        "id": "mailforge_run_2",
        "name": "MailForge run 2",
        "type": "list",
        "addr_type": "email",
    }


async def test_only_missing_quests_are_added_to_an_anketa_that_exists(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.add_anketa("mailforge", "MailForge", ["first_name"])

    await mass_sender(client).open_audience(1, content())

    (added,) = fake.bodies("anketa.quest.add")
    assert added["anketa.id"] == "mailforge"
    assert added["obj"] == [{"id": "city", "name": "city", "type": "free"}]
    assert "anketa.create" not in fake.actions()


async def test_a_group_left_by_an_earlier_attempt_is_emptied_first(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.add_group(group_id(1), "old", [{"email": "stranger@x.ru"}])

    ref = await send(mass_sender(client), [member("a@x.ru", "Ann")])

    assert fake.actions()[:3] == ["group.get", "group.delete", "group.create"]
    assert fake.mass_issues[0].audience == ["a@x.ru"]  # never the stranger
    assert ref["group"] == "mailforge_run_1"


async def test_a_thing_made_meanwhile_by_another_worker_is_found_again(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    """Sendsay's "already exists" id is unknown: a refused create is checked by a lookup."""
    make_anketa, add_quests = fake.handlers["anketa.create"], fake.handlers["anketa.quest.add"]

    def raced_anketa(body: dict[str, Any]) -> dict[str, Any]:
        make_anketa(body)  # the other worker was first
        return {"errors": [{"id": TAKEN["anketa"]}]}

    def raced_quests(body: dict[str, Any]) -> dict[str, Any]:
        fake.handlers["anketa.quest.add"] = add_quests  # the next call goes through
        add_quests({**body, "obj": body["obj"][:1]})  # the other worker added one of them
        return {"errors": [{"id": TAKEN["quest"]}]}

    fake.handlers["anketa.create"], fake.handlers["anketa.quest.add"] = raced_anketa, raced_quests
    sender = mass_sender(client)
    await sender.open_audience(1, content())  # no error

    assert set(fake.anketas["mailforge"]["quests"]) == {"city", "first_name"}
    fake.handlers["group.create"] = lambda body: {"errors": [{"id": "error/group/limit"}]}
    with pytest.raises(MassSendError, match="error/group/limit") as refused:
        await sender.open_audience(2, content())  # not there after all: a real refusal
    assert refused.value.retry is False


async def test_members_carry_their_data_and_each_letter_shows_their_own(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    sender = mass_sender(client)
    members = [member("a@x.ru", "Tom & <Jerry>", "A&B"), member("b@x.ru", "Фёдор", "Тверь")]

    ref = await send(sender, members)

    (push,) = fake.bodies("member.import")
    assert push["users.list"] == {
        "caption": [
            {"datakey": "member.email", "mode": "set"},
            {"datakey": "mailforge.city", "mode": "set"},
            {"datakey": "mailforge.first_name", "mode": "set"},
        ],
        "rows": [["a@x.ru", "A&B", "Tom & <Jerry>"], ["b@x.ru", "Тверь", "Фёдор"]],
    }
    assert push["auto_group"] == {"id": "mailforge_run_1"}
    (sent,) = fake.bodies("issue.send")
    assert "[% anketa.mailforge.first_name %]" in sent["letter"]["message"]["html"]
    assert sent["relink"] == 1 and sent["name"] == ref["name"]
    assert ref["name"].startswith("MailForge run 1 ")
    ann, fedor = fake.mass_issues[0].letters["a@x.ru"], fake.mass_issues[0].letters["b@x.ru"]
    assert "<b>Hello</b> Tom &amp; &lt;Jerry&gt; from A&amp;B" in ann["html"]  # escaped once
    assert ann["subject"] == "News for Tom & <Jerry>"
    assert "<b>Hello</b> Фёдор from Тверь" in fedor["html"]


async def test_click_tracking_follows_the_setting(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    await send(mass_sender(client, relink=False), [member("a@x.ru", "Ann")])
    assert fake.bodies("issue.send")[0]["relink"] == 0


async def test_a_link_whose_address_is_a_placeholder_reaches_each_member(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    body = '<a href="{{ url }}">your page</a>, {{ first_name }}'
    members = [
        MassSendMember("a@x.ru", {"first_name": "Ann", "url": "https://x.ru/a?b=1&c=2"}),
        MassSendMember("b@x.ru", {"first_name": "Bob", "url": "javascript:alert(1)"}),
    ]

    await send(mass_sender(client), members, what=content(body, "Hi"))

    letters = fake.mass_issues[0].letters
    assert '<a href="https://x.ru/a?b=1&amp;c=2">your page</a>, Ann' in letters["a@x.ru"]["html"]
    assert '<a href="">your page</a>, Bob' in letters["b@x.ru"]["html"]


@pytest.mark.parametrize("where", [None, "obj", "param"])
async def test_the_issue_is_found_in_the_track_or_else_by_its_name(
    fake: FakeSendsay, client: SendsayClient, where: str | None
) -> None:
    fake.variants.issue_id_in = where
    sender = mass_sender(client)
    ref = await send(sender, [member("a@x.ru", "Ann")])

    report = await sender.report(ref, 0, 10)

    issue = str(fake.mass_issues[0].id)
    assert [(s.address, s.outcome) for s in report] == [("a@x.ru", Outcome.delivered)]
    assert ref["issue"] == (issue if where is None else fake.mass_issues[0].id)
    by_name = [q for q in fake.bodies("stat.uni") if q["select"][0] == "issue.id"]
    assert len(by_name) == (1 if where is None else 0)
    if where is None:
        assert by_name[0]["filter"] == [{"a": "issue.name", "op": "==", "v": ref["name"]}]
    deliv = [q for q in fake.bodies("stat.uni") if q["select"][0].startswith("deliv.")]
    assert deliv[0]["filter"] == [{"a": "deliv.issue.id", "op": "==", "v": issue}]
    assert deliv[0]["order"] == ["deliv.member.email"]


async def test_an_issue_statistics_do_not_show_yet_is_a_retry_not_a_failure(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.variants.issue_listed_after = 2
    sender = mass_sender(client)
    ref = await send(sender, [member("a@x.ru", "Ann")])

    for _ in range(2):
        with pytest.raises(MassSendError) as missing:
            await sender.report(ref, 0, 10)
        assert missing.value.retry is True
        assert str(missing.value).startswith("sendsay-reason-no-issue")

    assert [s.outcome for s in await sender.report(ref, 0, 10)] == [Outcome.delivered]


async def test_only_minus_1_is_done_moderation_and_running_keep_polling(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.mass_track = ["0", "3", "-4", MODERATION, MODERATION, DONE]
    sender = mass_sender(client)
    what = content()
    await sender.open_audience(1, what)
    await sender.push_members(1, what, [member("a@x.ru", "Ann")])
    ref = await sender.mass_send(1, what)

    assert [await sender.settled(ref) for _ in range(6)] == [False] * 5 + [True]


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("-6", "sendsay-reason-moderation: -6"),
        ("-2", "sendsay-reason-track-error: -2"),
        ("-3", "sendsay-reason-track-cancelled: -3"),
    ],
)
async def test_an_error_cancel_or_rejection_by_moderation_ends_the_send_for_good(
    fake: FakeSendsay, client: SendsayClient, status: str, reason: str
) -> None:
    fake.mass_track = ["1", MODERATION, status]
    sender = mass_sender(client)
    what = content()
    await sender.open_audience(1, what)
    ref = await sender.mass_send(1, what)
    assert await sender.settled(ref) is False
    assert await sender.settled(ref) is False

    with pytest.raises(MassSendError) as ended:
        await sender.settled(ref)

    assert (str(ended.value), ended.value.retry) == (reason, False)


async def test_an_unknown_status_keeps_polling_with_a_warning(
    fake: FakeSendsay, client: SendsayClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake.mass_track = ["17"]
    sender = mass_sender(client)
    await sender.open_audience(1, content())
    ref = await sender.mass_send(1, content())
    assert await sender.settled(ref) is False
    assert "unknown status" in caplog.text


async def test_the_report_reads_every_result_and_logs_one_masked_row(
    fake: FakeSendsay, client: SendsayClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="infrastructure.sendsay.stats")
    emails = ["a@x.ru", "b@x.ru", "c@x.ru", "d@x.ru"]
    fake.deliv_result("b@x.ru", "-1", "550 5.1.1 <b@x.ru> no such user")
    fake.report_late("c@x.ru", 1)
    fake.deliv_result("d@x.ru", "5")
    sender = mass_sender(client)
    ref = await send(sender, [member(e, e[0]) for e in emails])

    report = await sender.report(ref, 0, 10)
    await sender.report(ref, 0, 10)

    assert [(s.address, s.outcome, s.error) for s in report] == [
        ("a@x.ru", Outcome.delivered, None),
        (
            "b@x.ru",
            Outcome.failed,
            "sendsay-reason-not-delivered: 550 5.1.1 <b@x.ru> no such user",
        ),
        ("c@x.ru", None, None),
        ("d@x.ru", Outcome.failed, "sendsay-reason-result: 5"),
    ]
    deliv = [q for q in fake.bodies("stat.uni") if q["select"][0].startswith("deliv.")]
    assert deliv[0]["select"] == [
        "deliv.member.email",
        "deliv.result",
        "deliv.status",
        "deliv.error",
    ]
    logged = [r.getMessage() for r in caplog.records if "stat.uni row" in r.getMessage()]
    assert len(logged) == 1  # once per process
    assert "deliv.status" in logged[0] and "@x.ru" not in logged[0]


async def test_a_report_without_the_optional_columns_still_reads_every_result(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.variants.deliv_fields = frozenset(
        {"deliv.member.email", "deliv.issue.id", "deliv.result"}
    )
    fake.deliv_result("b@x.ru", "-1", "550 no such user")
    sender = mass_sender(client)
    ref = await send(sender, [member("a@x.ru", "A"), member("b@x.ru", "B")])

    first, second = await sender.report(ref, 0, 1), await sender.report(ref, 1, 1)

    assert [(s.address, s.outcome, s.error) for s in first + second] == [
        ("a@x.ru", Outcome.delivered, None),
        ("b@x.ru", Outcome.failed, "sendsay-reason-not-delivered"),
    ]
    selects = [q["select"] for q in fake.bodies("stat.uni") if q["select"][0].startswith("d")]
    assert selects[-2:] == [["deliv.member.email", "deliv.result"]] * 2  # not asked again


async def test_left_out_recipients_are_counted_by_reason(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.stop_list("s1@x.ru")
    fake.stop_list("s2@x.ru")
    fake.unsubscribe("u@x.ru")
    fake.exclude("d@x.ru", "issue.double")
    sender = mass_sender(client)
    emails = ["a@x.ru", "s1@x.ru", "s2@x.ru", "u@x.ru", "d@x.ru"]
    ref = await send(sender, [member(e, "X") for e in emails])

    report = await sender.report(ref, 0, 10)
    left_out = await sender.exclusions(ref)

    assert [s.address for s in report] == ["a@x.ru"]
    assert [(e.reason, e.count, e.outcome) for e in left_out] == [
        ("sendsay-reason-stoplist", 2, Outcome.refused),
        ("sendsay-reason-unsubscribed", 1, Outcome.refused),
        ("sendsay-reason-duplicate", 1, Outcome.failed),
    ]


async def test_a_text_sendsay_would_run_as_code_is_refused_before_anything_is_made(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    sender = mass_sender(client)
    for what in (content("Hi [% anketa.base.x %]"), content("Hi", "50%] off")):
        for step in (sender.open_audience(1, what), sender.mass_send(1, what)):
            with pytest.raises(MassSendError) as refused:
                await step
            assert (str(refused.value), refused.value.retry) == ("sendsay-reason-proscript", False)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("setup", "reason", "retry"),
    [
        (
            lambda f: setattr(f, "api_key", "other"),
            "sendsay-reason-auth: error/auth/failed",
            False,
        ),
        (lambda f: setattr(f, "expired", True), "sendsay-reason-key-expired", False),
        (lambda f: f.confirm_sender(SENDER, "prohibited"), "sendsay-reason-sender", False),
        (lambda f: f.redirect_forever(), "sendsay-reason-redirects", False),
        (lambda f: f.fail_next("issue.send", status=503), "sendsay-reason-unavailable", True),
        (
            lambda f: f.fail_next("issue.send", body="<html>down</html>"),
            "sendsay-reason-unavailable",
            True,
        ),
        (
            lambda f: f.fail_next("issue.send", status=429, retry_after=3),
            "sendsay-reason-unavailable",
            True,
        ),
    ],
)
async def test_bad_answers_to_the_send_end_in_a_reason_or_a_retry(
    fake: FakeSendsay, client: SendsayClient, setup: Any, reason: str, retry: bool
) -> None:
    sender = mass_sender(client)
    await sender.open_audience(1, content())
    setup(fake)

    with pytest.raises(MassSendError) as failed:
        await sender.mass_send(1, content())

    assert str(failed.value).startswith(reason) and failed.value.retry is retry


@pytest.mark.parametrize(
    "variants",
    [
        Variants(error_status=400, single_error=True),
        Variants(import_answer="bare", member_rows="flat"),
        Variants(error_status=401, issue_id_in="param"),
    ],
)
async def test_every_plausible_variant_of_the_unknown_answers_sends_and_reports(
    variants: Variants,
) -> None:
    async with FakeSendsay(account=ACCOUNT, api_key=API_KEY) as fake:
        fake.variants = variants
        fake.confirm_sender(SENDER)
        fake.add_anketa("mailforge", "MailForge", ["first_name"])  # a quest missing: city
        async with SendsayClient(ACCOUNT, API_KEY, base_url=fake.base_url) as client:
            sender = mass_sender(client)
            ref = await send(sender, [member("a@x.ru", "Ann")])
            report = await sender.report(ref, 0, 10)
    assert [s.outcome for s in report] == [Outcome.delivered]
    assert "Ann" in fake.mass_issues[0].letters["a@x.ru"]["html"]
