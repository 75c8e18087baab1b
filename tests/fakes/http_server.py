"""The HTTP/1.1 server under the fake platform APIs: connections kept alive as the real
Telegram and Slack keep them, counted (open now, and opened in all), and ended when the fake
stops so that no client reuses one after it is gone."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import ThreadingHTTPServer
from typing import Any


class KeepAliveServer(ThreadingHTTPServer):
    """Many connections at once, each kept open between requests; a client that hangs up is
    not an error here. Its handler must say `protocol_version = "HTTP/1.1"` and send a
    Content-Length with every answer."""

    daemon_threads = True
    request_queue_size = 512  # an app sends many requests at once (the default backlog is 5)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open: set[socket.socket] = set()
        self._opened = 0
        self._open_lock = threading.Lock()

    def get_request(self) -> tuple[socket.socket, Any]:
        """An accepted connection, its small writes sent at once: the headers and the body
        of an answer are two writes, and with Nagle's algorithm the second would wait for the
        client's delayed ACK (40 ms) on a kept-alive connection."""
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
            self._opened += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def open_connections(self) -> int:
        """Connections open now."""
        with self._open_lock:
            return len(self._open)

    def opened_connections(self) -> int:
        """Connections accepted since the server started (a client that reuses its
        connections opens few)."""
        with self._open_lock:
            return self._opened

    def hang_up(self) -> None:
        """End the kept-alive connections, so no client reuses one after the fake is gone."""
        with self._open_lock:
            left = list(self._open)
        for connection in left:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
