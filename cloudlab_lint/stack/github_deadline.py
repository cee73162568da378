"""A deadline for one HTTP exchange, whatever the server does.

A socket timeout bounds each read, not the exchange: a server that sends one byte every two seconds never trips
a ten-second timeout and holds the run forever. So every connection this client opens is registered with a
`Watch`, whose timer shuts the connection down when the deadline passes; the blocked read returns at once, and
the client, seeing `fired`, says the deadline passed.
"""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.request
from typing import Any


class Watch:
    """Shuts down every connection registered with it `seconds` from now, unless cancelled first."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def register(self, sock: socket.socket) -> None:
        """Watch the connection of `sock`, through a duplicate of its descriptor: `shutdown` acts on the
        connection, so it still ends a TLS handshake or read after the socket was wrapped (and detached)."""
        dup = sock.dup()
        with self._lock:
            self._sockets.append(dup)
            fired = self.fired
        if fired:
            _shut(dup)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def handlers(watch: Watch) -> list[Any]:
    """urllib handlers for http and https whose connections report to `watch` as soon as the TCP connection is
    made (before any TLS handshake)."""

    def create_connection(*args: Any, **kwargs: Any) -> socket.socket:
        sock = socket.create_connection(*args, **kwargs)
        watch.register(sock)
        return sock

    class HTTPConnection(http.client.HTTPConnection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._create_connection = create_connection  # http.client sets it per instance

    class HTTPSConnection(http.client.HTTPSConnection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._create_connection = create_connection

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(HTTPConnection, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(HTTPSConnection, req, context=self._context)

    return [HTTPHandler(), HTTPSHandler()]
