"""Sendsay: the JSON API client and the account's groups as a source of recipient lists."""

from infrastructure.sendsay.client import DEFAULT_BASE_URL, SendsayClient
from infrastructure.sendsay.errors import SendsayAuthError, SendsayError, SendsayTransientError
from infrastructure.sendsay.list_source import SendsayListSource

__all__ = [
    "DEFAULT_BASE_URL",
    "SendsayAuthError",
    "SendsayClient",
    "SendsayError",
    "SendsayListSource",
    "SendsayTransientError",
]
