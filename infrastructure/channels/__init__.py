"""Delivery channels: adapters of ``domain.ports.channels.DeliveryChannel``."""

from infrastructure.channels.ratelimit import MemoryRateLimiter, RateLimiter
from infrastructure.channels.smtp import SmtpChannel
from infrastructure.channels.telegram import TelegramChannel
from infrastructure.channels.webhook import WebhookChannel

__all__ = ["MemoryRateLimiter", "RateLimiter", "SmtpChannel", "TelegramChannel", "WebhookChannel"]
