"""``SendsayAccountCheck``: the admin's ``/sendsay``, with read-only calls only.

``group.list`` proves the key (any call needs it) and counts the account's lists. Whether
the sender is confirmed: no read-only action for it is documented (SENDSAY.md), so it is
not guessed at; a test send tells (``error/sender/*``). ``ASSUMPTIONS`` names, as locale
keys, what the adapter assumes that only a live account can confirm (SENDSAY.md "Unknown");
``infrastructure/channels/sendsay_mass.py`` says where each is used.
"""

from __future__ import annotations

from domain.account_check import AccountCheck
from infrastructure.sendsay.client import SendsayClient
from infrastructure.sendsay.errors import SendsayError, SendsayTransientError
from infrastructure.sendsay.reasons import reason_of

ASSUMPTIONS = (
    "sendsay-assume-issue-id",
    "sendsay-assume-deliv-result",
    "sendsay-assume-import-answer",
    "sendsay-assume-member-list",
    "sendsay-assume-error-ids",
    "sendsay-assume-escaping",
    "sendsay-assume-personal",
)


class SendsayAccountCheck:
    def __init__(self, client: SendsayClient, *, sender: str) -> None:
        self._client = client
        self._sender = sender

    async def check(self) -> AccountCheck:
        try:
            answer = await self._client.request("group.list")
        except SendsayError as exc:
            reached = not isinstance(exc, SendsayTransientError) and not exc.about_redirects
            return self._found(key_works=False, problem=reason_of(exc), reached=reached)
        groups = [g for g in answer.get("list") or [] if isinstance(g, dict)]
        lists = [g for g in groups if g.get("type") in (None, "list")]
        return self._found(key_works=True, lists=len(lists))

    def _found(
        self,
        *,
        key_works: bool,
        problem: str | None = None,
        lists: int | None = None,
        reached: bool = True,
    ) -> AccountCheck:
        return AccountCheck(
            reached=reached,
            account=self._client.account,
            endpoint=self._endpoint(),
            key_works=key_works,
            problem=problem,
            lists=lists,
            sender=self._sender,
            assumptions=ASSUMPTIONS,
        )

    def _endpoint(self) -> str:
        url = self._client.url
        return f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "") + url.path
