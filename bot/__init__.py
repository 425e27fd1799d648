"""Composition root. Importing it first keeps aiogram's memory small (see slim_aiogram)."""

from bot.slim_aiogram import install as _slim_aiogram

_slim_aiogram()
