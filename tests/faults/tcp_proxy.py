"""A small asyncio TCP proxy that can cut a service off and bring it back.

    with TcpProxy(target_port=5432) as proxy:       # listens on 127.0.0.1:<free port>
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/db"
        proxy.cut()        # every open connection reset, new ones refused
        proxy.restore()    # accepting and forwarding again, on the same port

`cut()` closes the listening socket, so a new connection is refused (ECONNREFUSED,
as when the server is down), and resets every open connection with a TCP RST (the
client's socket fails mid-conversation, as when a network path drops).
`restore()` listens again on the same port.

The proxy runs its own event loop in a daemon thread, so a test may block its own
loop (or call the database synchronously) without stalling the traffic it forwards;
the methods are plain calls, safe from any thread. Everything stays on 127.0.0.1,
and `stop()` (or leaving the `with` block) ends the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

CHUNK = 64 * 1024
T = TypeVar("T")


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self.forwarded = 0  # connections forwarded since start
        self.reset = 0  # open connections reset by cut()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy",
                                        daemon=True)
        self._server: asyncio.Server | None = None
        self._conns: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._handlers: set[asyncio.Task[Any]] = set()

    # ----- the controls (any thread) ----------------------------------------------------

    @property
    def is_cut(self) -> bool:
        return self._server is None

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def cut(self) -> None:
        """Refuse new connections and reset every open one."""
        self._call(self._cut())

    def restore(self) -> None:
        """Accept and forward again, on the same port."""
        self._call(self._listen())

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    # ----- the proxy's own loop ---------------------------------------------------------

    async def _listen(self) -> None:
        if self._server is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))  # 0 the first time: a free port
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._handle, sock=sock)

    async def _cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()  # the listening socket: new connections are refused
        for pair in list(self._conns):
            self.reset += 1
            for writer in pair:
                _abort(writer)
        self._conns.clear()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def _handle(self, client_r: asyncio.StreamReader,
                      client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._forward(client_r, client_w)
        finally:
            self._handlers.discard(task)

    async def _forward(self, client_r: asyncio.StreamReader,
                       client_w: asyncio.StreamWriter) -> None:
        if self._server is None:  # cut between the accept and this callback
            _abort(client_w)
            return
        try:
            upstream_r, upstream_w = await asyncio.open_connection(self.target_host,
                                                                   self.target_port)
        except OSError:
            _abort(client_w)
            return
        self.forwarded += 1
        pair = (client_w, upstream_w)
        self._conns.add(pair)
        pipes = [asyncio.create_task(_pipe(client_r, upstream_w)),
                 asyncio.create_task(_pipe(upstream_r, client_w))]
        # Either side closing (or a cut) ends the connection for both.
        _done, pending = await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._conns.discard(pair)
        for writer in pair:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a dropped path or a killed peer does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
