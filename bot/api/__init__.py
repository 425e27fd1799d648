"""The HTTP API (``/api/v1``): FastAPI over the same use cases and permission checks as
the bot, served by uvicorn in the bot's event loop (``bot.api.server``).

The public routes (unsubscribe pages, the open pixel and click redirect, ``/healthz``,
``/metrics``, Telegram's webhook) stay on the aiohttp server: measured on this machine
with ``bench/redirect.py``'s load, a bare 302 on uvicorn (httptools) + Starlette answered
~25 % fewer requests/s with a ~30 % higher p95 than the same 302 on aiohttp, and the
click redirect has no room for that (p95 21-23 ms against a 20 ms target).
"""
