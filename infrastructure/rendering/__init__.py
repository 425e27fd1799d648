"""Rendering adapters: message templates, and Telegram HTML turned into email parts."""

from infrastructure.rendering.email_html import telegram_html_to_email_html
from infrastructure.rendering.plaintext import html_to_text
from infrastructure.rendering.renderer import JinjaRenderer

__all__ = ["JinjaRenderer", "html_to_text", "telegram_html_to_email_html"]
