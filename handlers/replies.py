"""Screens that either replace the message a button was on, or arrive as a new one."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup, Message


async def show_screen(
    message: Message, text: str, markup: InlineKeyboardMarkup | None, *, edit: bool
) -> None:
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)
