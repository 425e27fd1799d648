"""The web server's sockets answer kept-alive connections without Nagle's delay.

Before: ``_bind`` made its listening socket with proto 0, accepted connections inherited it,
and asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto says TCP. Every
answer after the first on a kept-alive connection (an API client, Telegram's webhook, a
run of clicks) then waited for the client's delayed ACK: GET /api/v1/runs/{id} took 48 ms
instead of 4 (bench/api.py).
"""

from __future__ import annotations

import asyncio
import socket

from bot.web import _bind


async def test_connections_accepted_on_the_bound_socket_have_nagle_off() -> None:
    listening = _bind("127.0.0.1", 0, "WEB_PORT")
    accepted: asyncio.Queue[int] = asyncio.Queue()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        await accepted.put(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(answer, sock=listening)
    try:
        port = listening.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        nodelay = await asyncio.wait_for(accepted.get(), 10)
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    assert listening.proto == socket.IPPROTO_TCP
    assert nodelay != 0
