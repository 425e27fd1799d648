"""``launch`` behind an idempotency key (``domain.idempotency``): a repeated key returns
the same run, never a second one."""

from __future__ import annotations

from domain.clock import Clock
from domain.errors import Conflict, InvalidInput
from domain.idempotency import KEY_MAX
from domain.ports.uow import UnitOfWorkFactory
from domain.runs import MailingRun
from domain.usecases.launch import Launcher, LaunchKind, LaunchOrder, start
from domain.usecases.mailings import load_own


async def launch_once(
    uow_factory: UnitOfWorkFactory,
    launcher: Launcher,
    *,
    actor_id: int,
    mailing_id: int,
    key: str,
    request_hash: str,
    clock: Clock | None = None,
) -> tuple[MailingRun, bool]:
    """The run of this key and whether this call made it (``False``: a repeat)."""
    if not 1 <= len(key) <= KEY_MAX:
        raise InvalidInput("api-idempotency-key-invalid", max=KEY_MAX)
    async with uow_factory() as uow:
        await load_own(uow, actor_id, mailing_id)  # someone else's mailing: not found
        held = await uow.idempotency.reserve(actor_id, key, request_hash)
        await uow.commit()
    if held is not None:
        if held.request_hash != request_hash:
            raise InvalidInput("api-idempotency-key-reused")
        if held.run_id is None:
            raise Conflict("api-idempotency-in-progress")
        async with uow_factory() as uow:
            run = await uow.runs.get(held.run_id)
        if run is None:
            raise Conflict("api-idempotency-in-progress")
        return run, False
    order = LaunchOrder(mailing_id, LaunchKind.now, actor_id=actor_id)
    try:
        run = await start(uow_factory, launcher, order, clock)
    except BaseException:
        async with uow_factory() as uow:
            await uow.idempotency.release(actor_id, key)
            await uow.commit()
        raise
    assert run.id is not None
    async with uow_factory() as uow:
        await uow.idempotency.complete(actor_id, key, run.id)
        await uow.commit()
    return run, True
