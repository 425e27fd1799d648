"""The fake Sendsay follows /work/shared/SENDSAY.md and refuses what it rules out, so that
adapter tests against it cannot pass on a shape Sendsay would not accept."""

from __future__ import annotations

from typing import Any

import pytest

from infrastructure.sendsay import SendsayClient, SendsayError
from tests.fakes.sendsay import DONE, MODERATION, TAKEN, FakeSendsay

SENDER = "news@acme.example"
LETTER = {
    "subject": "Hi [% anketa.crm.name %]",
    "from.email": SENDER,
    "message": {"html": "<p>Dear [% anketa.crm.name %]</p>", "text": "Dear [% anketa.crm.name %]"},
}


@pytest.fixture(autouse=True)
def account(fake: FakeSendsay) -> None:
    fake.confirm_sender(SENDER)
    fake.add_anketa("crm", "CRM", ["name"])
    fake.add_group(
        "readers",
        "Readers",
        [
            {"email": "ann@x.ru", "crm.name": "Ann <&>"},
            {"email": "bob@x.ru", "crm.name": "Bob"},
            {"email": "stop@x.ru", "crm.name": "Stop"},
            {"email": "gone@x.ru", "crm.name": "Gone"},
        ],
    )
    fake.stop_list("stop@x.ru")
    fake.unsubscribe("gone@x.ru")


async def refused(client: SendsayClient, action: str, **params: Any) -> str:
    with pytest.raises(SendsayError) as caught:
        await client.request(action, **params)
    return caught.value.error_id


def users(*datakeys: str) -> dict[str, Any]:
    caption = [{"datakey": key, "mode": "set"} for key in datakeys]
    return {"users.list": {"caption": caption, "rows": [["c@x.ru", *["v"] * (len(datakeys) - 1)]]}}


async def test_member_import_takes_anketa_quest_datakeys_and_refuses_the_anketa_prefix(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    await client.request("member.import", **users("member.email", "crm.name"))
    assert fake.members["c@x.ru"] == {"crm.name": "v"}
    for wrong in ("anketa.crm.name", "crm.missing", "nope.name", "crm"):
        error = await refused(client, "member.import", **users("member.email", wrong))
        assert error == "error/datakey/unknown"
    bad_caption = {"users.list": {"caption": [{"datakey": "member.email"}], "rows": []}}
    assert await refused(client, "member.import", **bad_caption) == "error/users.list/caption"


async def test_a_mass_send_answers_a_track_only_and_the_track_moderates_before_done(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    answer = await client.request("issue.send", group="readers", sendwhen="now", letter=LETTER)
    assert set(answer) == {"track.id", "request.id"}  # no issue.id
    statuses = [
        (await client.request("track.get", id=answer["track.id"]))["obj"]["status"]
        for _ in range(4)
    ]
    assert statuses == ["1", MODERATION, DONE, DONE]  # strings, -5 before -1


async def test_left_out_addresses_get_no_deliv_row_and_are_counted_on_the_issue(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    await client.request("issue.send", group="readers", sendwhen="now", letter=LETTER, name="N1")
    fake.tracks[1].statuses.clear()
    fake.tracks[1].statuses.append(DONE)
    await client.request("track.get", id=1)
    (issue,) = fake.mass_issues
    deliv = await client.request(
        "stat.uni",
        select=["deliv.member.email", "deliv.result"],
        filter=[{"a": "deliv.issue.id", "op": "==", "v": str(issue.id)}],
        order=["deliv.member.email"],
        result="response",
    )
    counters = await client.request(
        "stat.uni",
        select=["issue.stoplist", "issue.lockunsub", "issue.hardbounce"],
        filter=[{"a": "issue.id", "op": "==", "v": str(issue.id)}],
        result="response",
    )
    assert deliv == {"list": [["ann@x.ru", "1"], ["bob@x.ru", "1"]]}
    assert counters == {"list": [[1, 1, 0]]}
    assert issue.letters["ann@x.ru"]["html"] == "<p>Dear Ann &lt;&amp;&gt;</p>"  # escaped
    assert issue.letters["ann@x.ru"]["subject"] == "Hi Ann <&>"


async def test_stat_uni_gives_select_order_unordered_without_order_and_string_ids(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.add_group("many", "Many", [{"email": f"u{n:02}@x.ru"} for n in range(30)])
    fake.mass_track = [DONE]
    await client.request("issue.send", group="many", sendwhen="now", letter=LETTER)
    await client.request("track.get", id=1)
    issue = str(fake.mass_issues[0].id)
    where = [{"a": "deliv.issue.id", "op": "==", "v": issue}]
    reads = [
        await client.request(
            "stat.uni", select=["deliv.result", "deliv.member.email"], filter=where
        )
        for _ in range(3)
    ]
    assert reads[0]["list"][0][0] == "1"  # select order: the result first
    assert len({tuple(map(tuple, r["list"])) for r in reads}) > 1  # no order: it changes
    numeric = [{"a": "deliv.issue.id", "op": "==", "v": int(issue)}]
    assert await refused(client, "stat.uni", select=["deliv.result"], filter=numeric) == (
        "error/stat/filter"
    )
    mixed = ["deliv.result", "issue.name"]
    assert await refused(client, "stat.uni", select=mixed, filter=where) == (
        "error/stat/select/areas"
    )


async def test_already_exists_answers_never_say_exist_and_group_ids_are_word_characters(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    group = {"name": "G", "type": "list", "addr_type": "email"}
    await client.request("group.create", id="run_1", **group)
    taken = [
        await refused(client, "group.create", id="run_1", **group),
        await refused(client, "anketa.create", id="crm", name="CRM"),
        await refused(
            client,
            "anketa.quest.add",
            **{"anketa.id": "crm"},
            obj=[{"id": "name", "name": "n", "type": "free"}],
        ),
    ]
    assert taken == list(TAKEN.values())
    assert not any("exist" in error for error in taken)
    assert await refused(client, "group.create", id="run-1", **group) == "error/group/id_invalid"
    assert await refused(client, "group.get", id="nope") == "group_id_not_exists"


async def test_every_send_needs_a_confirmed_sender(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    fake.confirm_sender("wait@acme.example", "onmoderation")
    sends = [
        {**LETTER, "from.email": "stranger@acme.example"},
        {**LETTER, "from.email": "wait@acme.example"},
        {key: value for key, value in LETTER.items() if key != "from.email"},
    ]
    errors = [
        await refused(
            client, "issue.send", group="personal", email="a@x.ru", sendwhen="now", letter=letter
        )
        for letter in sends
    ]
    assert errors == ["error/sender/unknown", "error/sender/onmoderation", "error/sender/unknown"]


async def test_member_list_gives_addresses_only_unless_asked_for_datakeys(
    fake: FakeSendsay, client: SendsayClient
) -> None:
    bare = await client.request("member.list", group="readers", page=1, pagesize=2)
    full = await client.request(
        "member.list", group="readers", page=1, pagesize=2, datakey=["member.email", "crm"]
    )
    assert bare["list"] == ["ann@x.ru", "bob@x.ru"]
    assert full["list"][0] == {"member": {"email": "ann@x.ru"}, "crm": {"name": "Ann <&>"}}
