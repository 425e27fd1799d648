"""``GET /me``: who the token acts as."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from bot.api.context import Caller
from domain.users import Role

router = APIRouter(tags=["me"])


class Me(BaseModel):
    telegram_id: int
    role: Role


@router.get("/me", summary="The token's owner and role")
async def me(user: Caller) -> Me:
    assert user.role is not None  # ``caller`` lets only staff through
    return Me(telegram_id=user.telegram_id, role=user.role)
