"""SendsayMassSender against the fake Sendsay API over HTTP on loopback, step by step:
the anketa made before the push, the documented caption, values pushed unescaped, the
issue id found in the track, the report read from ``deliv.result``."""

from __future__ import annotations

from typing import Any

import pytest

from domain.bulk import BulkMember, BulkSendError
from domain.delivery import Outcome, RunContent
from domain.mailings import Channel
from infrastructure.channels.sendsay_mass import SendsayMassSender
from infrastructure.sendsay import SendsayClient, SendsayError
from tests.fakes.sendsay import FakeSendsay

BODY = "<b>Hello</b> {{ name }} from {{ city }}"


def content(body: str = BODY, subject: str | None = "News for {{ name }}") -> RunContent:
    return RunContent(1, "Digest", Channel.sendsay, body, subject)


def member(email: str, name: str, city: str = "Omsk") -> BulkMember:
    return BulkMember(email, {"city": city, "name": name})


def mass_sender(client: SendsayClient) -> SendsayMassSender:
    return SendsayMassSender(client, sender="News <n@acme.example>", track_poll=0.01)


def bodies(fake: FakeSendsay, action: str) -> list[dict[str, Any]]:
    return [request.body for request in fake.requests if request.action == action]


async def send_all(sender: SendsayMassSender, run_id: int = 1) -> dict[str, Any]:
    ref = await sender.mass_send(run_id, content())
    while not await sender.settled(ref):
        pass
    return ref


async def test_the_anketa_and_its_quests_are_made_once_before_the_push(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    sender = mass_sender(client)

    await sender.push_members(1, content(), [member("a@x.ru", "Ann")])
    await sender.push_members(1, content(), [member("b@x.ru", "Bob")])  # the next page
    await sender.push_members(2, content(), [member("c@x.ru", "Cy")])  # another run

    actions = fake.actions()
    assert actions[:3] == ["group.create", "anketa.create", "anketa.quest.add"]
    assert actions.count("anketa.create") == actions.count("anketa.quest.add") == 1
    assert actions.count("member.import") == 3
    (created,) = bodies(fake, "anketa.create")
    assert (created["id"], created["name"]) == ("mailforge", "MailForge")
    (added,) = bodies(fake, "anketa.quest.add")
    assert added["anketa.id"] == "mailforge"
    assert added["obj"] == [
        {"id": "city", "name": "city", "type": "free"},
        {"id": "name", "name": "name", "type": "free"},
    ]
    push = bodies(fake, "member.import")[0]
    assert push["users.list"] == {
        "caption": [
            {"datakey": "member.email", "mode": "set"},
            {"datakey": "anketa.mailforge.city", "mode": "set"},
            {"datakey": "anketa.mailforge.name", "mode": "set"},
        ],
        "rows": [["a@x.ru", "Omsk", "Ann"]],
    }
    assert (push["charset"], push["addr_type"]) == ("utf-8", "email")
    assert push["auto_group"] == {"id": "mailforge-run-1"}


async def test_a_template_without_placeholders_makes_no_anketa(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    sender = mass_sender(client)
    await sender.push_members(1, content("Hello", "News"), [BulkMember("a@x.ru", {})])

    assert fake.actions() == ["group.create", "member.import", "track.get"]
    (push,) = bodies(fake, "member.import")
    assert push["users.list"]["caption"] == [{"datakey": "member.email", "mode": "set"}]


async def test_an_anketa_left_by_an_earlier_process_is_reused_and_completed(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    await mass_sender(client).push_members(1, content("Hi {{ name }}"), [member("a@x.ru", "A")])
    later = mass_sender(client)  # a new process: nothing cached

    await later.push_members(2, content(), [member("b@x.ru", "Bob", "Tver")])

    # "already exists" for the anketa and for the batch, then one quest at a time.
    assert set(fake.anketas["mailforge"]) == {"city", "name"}
    added = [body["obj"] for body in bodies(fake, "anketa.quest.add")]
    assert added[1:] == [
        [
            {"id": "city", "name": "city", "type": "free"},
            {"id": "name", "name": "name", "type": "free"},
        ],
        [{"id": "city", "name": "city", "type": "free"}],
        [{"id": "name", "name": "name", "type": "free"}],
    ]
    group = fake.groups["mailforge-run-2"]
    assert group.members == [
        {"email": "b@x.ru", "mailforge.city": "Tver", "mailforge.name": "Bob"}
    ]


async def test_values_are_pushed_unescaped_and_escaped_once_by_sendsay(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    sender = mass_sender(client)
    await sender.push_members(1, content(), [member("a@x.ru", "Tom & <Jerry>", "A&B")])

    (push,) = bodies(fake, "member.import")
    assert push["users.list"]["rows"] == [["a@x.ru", "A&B", "Tom & <Jerry>"]]
    await send_all(sender)
    letter = fake.mass_issues[0].letters["a@x.ru"]
    assert "<b>Hello</b> Tom &amp; &lt;Jerry&gt; from A&amp;B" in letter["html"]
    assert "&amp;amp;" not in letter["html"]
    assert letter["subject"] == "News for Tom & <Jerry>"


async def test_a_not_exists_error_is_never_taken_for_already_there(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    sender = mass_sender(client)
    fake.fail_next("group.create", errors=[{"id": "error/group_id_not_exists"}])
    with pytest.raises(BulkSendError, match="group_id_not_exists") as group_error:
        await sender.push_members(1, content(), [member("a@x.ru", "Ann")])
    assert group_error.value.retry is False

    fake.fail_next("anketa.create", errors=[{"id": "error/anketa/not_exists"}])
    with pytest.raises(BulkSendError, match="anketa/not_exists"):
        await sender.push_members(1, content(), [member("a@x.ru", "Ann")])
    assert "member.import" not in fake.actions()

    fake.fail_next("anketa.quest.add", errors=[{"id": "error/anketa/quest/not.exist"}])
    with pytest.raises(BulkSendError, match=r"quest/not\.exist"):
        await sender.push_members(1, content(), [member("a@x.ru", "Ann")])
    assert "member.import" not in fake.actions()

    await sender.push_members(1, content(), [member("a@x.ru", "Ann")])  # and now it works
    assert fake.actions().count("member.import") == 1


async def test_a_transient_error_while_making_the_anketa_is_retried_later(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    sender = mass_sender(client)
    fake.fail_next("anketa.create", status=503, retry_after=0.5)
    with pytest.raises(BulkSendError) as error:
        await sender.push_members(1, content(), [member("a@x.ru", "Ann")])
    assert (error.value.retry, error.value.retry_after) == (True, 0.5)

    await sender.push_members(1, content(), [member("a@x.ru", "Ann")])
    assert set(fake.anketas["mailforge"]) == {"city", "name"}


async def test_the_report_reads_deliv_result_with_its_reason(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    sender = mass_sender(client)
    emails = ["a@x.ru", "b@x.ru", "c@x.ru", "d@x.ru"]
    await sender.push_members(1, content(), [member(e, e[0]) for e in emails])
    fake.deliv_result("b@x.ru", "-1", "550 no such user")
    fake.report_late("c@x.ru", 1)
    fake.deliv_result("d@x.ru", "-1", "452 mailbox full")
    ref = await send_all(sender)

    report = await sender.report(ref, 0, 10)

    assert [(s.address, s.outcome, s.error) for s in report] == [
        ("a@x.ru", Outcome.delivered, None),
        ("b@x.ru", Outcome.refused, "sendsay: not delivered: 550 no such user"),
        ("c@x.ru", None, None),
        ("d@x.ru", Outcome.failed, "sendsay: not delivered: 452 mailbox full"),
    ]
    (query,) = bodies(fake, "stat.uni")
    assert query["select"] == ["deliv.member.email", "deliv.result", "deliv.error"]
    assert query["filter"] == [{"a": "deliv.issue.id", "op": "==", "v": str(ref["issue"])}]


async def test_a_report_without_the_reason_column_still_reads_every_result(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.stat_fields.discard("deliv.error")  # an account that does not know the column
    sender = mass_sender(client)
    await sender.push_members(1, content(), [member("a@x.ru", "A"), member("b@x.ru", "B")])
    fake.deliv_result("b@x.ru", "-1", "550 no such user")
    ref = await send_all(sender)

    first = await sender.report(ref, 0, 1)
    second = await sender.report(ref, 1, 1)

    assert [(s.address, s.outcome, s.error) for s in first + second] == [
        ("a@x.ru", Outcome.delivered, None),
        ("b@x.ru", Outcome.failed, "sendsay: not delivered"),
    ]
    selects = [query["select"] for query in bodies(fake, "stat.uni")]
    assert selects == [  # refused once, then never asked for again
        ["deliv.member.email", "deliv.result", "deliv.error"],
        ["deliv.member.email", "deliv.result"],
        ["deliv.member.email", "deliv.result"],
    ]


async def test_a_report_error_that_is_not_about_the_column_is_not_hidden(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    sender = mass_sender(client)
    await sender.push_members(1, content(), [member("a@x.ru", "A")])
    ref = await send_all(sender)
    fake.fail_next("stat.uni", errors=[{"id": "error/stat/broken"}], times=2)

    with pytest.raises(BulkSendError, match="error/stat/broken") as error:
        await sender.report(ref, 0, 10)

    assert error.value.retry is False
    fake.fail_next("stat.uni", status=503)
    with pytest.raises(BulkSendError) as transient:
        await sender.report(ref, 0, 10)
    assert transient.value.retry is True
    # The column was never refused: still asked for.
    assert [s.outcome for s in await sender.report(ref, 0, 10)] == [Outcome.delivered]
    assert bodies(fake, "stat.uni")[-1]["select"][-1] == "deliv.error"


async def test_an_issue_id_only_in_the_track_is_found_there(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.issue_id_in = "track"
    sender = mass_sender(client)
    await sender.push_members(1, content(), [member("a@x.ru", "Ann")])
    ref = await send_all(sender)
    assert ref["issue"] is None and ref["track"] is not None

    report = await sender.report(ref, 0, 10)

    assert [(s.address, s.outcome) for s in report] == [("a@x.ru", Outcome.delivered)]
    (query,) = bodies(fake, "stat.uni")
    assert query["filter"][0]["v"] == str(fake.mass_issues[0].id)
    # A worker that did not poll the track itself (a restart) asks the track once more.
    restarted = mass_sender(client)
    polls = fake.actions().count("track.get")
    assert len(await restarted.report(ref, 0, 10)) == 1
    assert len(await restarted.report(ref, 0, 10)) == 1
    assert fake.actions().count("track.get") == polls + 1


async def test_no_issue_id_anywhere_is_a_clear_permanent_error(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.issue_id_in = None
    sender = mass_sender(client)
    await sender.push_members(1, content(), [member("a@x.ru", "Ann")])
    ref = await send_all(sender)

    with pytest.raises(BulkSendError, match="no issue id") as error:
        await sender.report(ref, 0, 10)

    assert error.value.retry is False
    assert "stat.uni" not in fake.actions()


@pytest.mark.parametrize("status", [-2, -3, -6])
async def test_a_failed_cancelled_or_rejected_track_fails_the_send_for_good(
    fake: FakeSendsay, client: SendsayClient, status: int
) -> None:
    fake.mass_track = [status]
    sender = mass_sender(client)
    await sender.push_members(1, content(), [member("a@x.ru", "Ann")])
    ref = await sender.mass_send(1, content())

    with pytest.raises(BulkSendError, match=f"track status {status}") as error:
        await sender.settled(ref)

    assert error.value.retry is False


@pytest.mark.parametrize("status", [-4, -5])
async def test_a_postponed_or_moderated_track_is_settled(
    fake: FakeSendsay, client: SendsayClient, status: int
) -> None:
    fake.mass_track = [status]
    sender = mass_sender(client)
    await sender.push_members(1, content(), [member("a@x.ru", "Ann")])
    assert await sender.settled(await sender.mass_send(1, content())) is True


async def test_the_fake_refuses_the_old_shapes(fake: FakeSendsay, client: SendsayClient) -> None:
    """So that the tests above prove the new behaviour, not a lenient fake."""
    fake.add_group("g", "G")
    users = {"caption": [{"anketa": "member", "quest": "email"}], "rows": [["a@x.ru"]]}
    old = await raw(client, "member.import", **{"users.list": users}, auto_group={"id": "g"})
    assert old == "error/users.list/caption/invalid"
    caption = [
        {"datakey": "member.email", "mode": "set"},
        {"datakey": "anketa.mailforge.name", "mode": "set"},
    ]
    users = {"caption": caption, "rows": [["a@x.ru", "Ann"]]}
    no_anketa = await raw(client, "member.import", **{"users.list": users}, auto_group={"id": "g"})
    assert no_anketa == "error/anketa/not_exists"
    await client.request("anketa.create", id="mailforge", name="MailForge")
    no_quest = await raw(client, "member.import", **{"users.list": users}, auto_group={"id": "g"})
    assert no_quest == "error/anketa/quest/not_exists"
    select = ["deliv.member.email", "deliv.status"]
    assert await raw(client, "stat.uni", select=select) == "error/stat/unknown_field"


async def raw(client: SendsayClient, action: str, **params: Any) -> str:
    """The error id Sendsay answers ``action`` with."""
    try:
        await client.request(action, **params)
    except SendsayError as exc:
        return exc.error_id
    raise AssertionError(f"{action} was accepted")
