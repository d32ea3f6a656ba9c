"""A TCP proxy on 127.0.0.1 that can lose one answer on purpose (fault-injection tests).

Every connection accepted is piped to `upstream` both ways by one thread. `arm(marker)` makes
the proxy wait for the next client message containing `marker` (on any of its connections):
that message still reaches the server, but the server's whole answer to it (up to
PostgreSQL's ReadyForQuery, so the statements it carried have all run) is swallowed and both
sides of that connection are closed. To the client it is a connection lost after its COMMIT
was sent and executed, the one case where it cannot know what happened.

`hang()` makes it a hung server instead: connections are accepted and never answered (a Redis
that stopped responding); `hang(False)` closes them, and new connections are piped again.
`freeze()` hangs the connections already piped too: nothing more passes either way until
`freeze(False)` (a database that stopped answering on the connections a pool holds).

Every loop is bounded: sockets poll with a short timeout and check `closed`, and a doomed
connection is cut after DOOM_SECONDS even if the answer never ends.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time

POLL_SECONDS = 0.1
DOOM_SECONDS = 10.0
# PostgreSQL's ReadyForQuery message: 'Z', length 5, then the transaction status byte.
READY_FOR_QUERY = b"Z\x00\x00\x00\x05"


class TcpProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.closed = False
        self.dropped = 0  # answers swallowed (connections cut)
        self.connections = 0
        self.hung = False
        self.frozen = False
        self._hung: list[socket.socket] = []
        self._marker: bytes | None = None
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(POLL_SECONDS)
        self.host, self.port = self._listener.getsockname()[:2]
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self._accepting.start()

    def arm(self, marker: bytes) -> None:
        """Lose the answer to the next client message that contains `marker`."""
        with self._lock:
            self._marker = marker

    @property
    def armed(self) -> bool:
        return self._marker is not None

    def _take_marker(self, data: bytes) -> bool:
        with self._lock:
            if self._marker is not None and self._marker in data:
                self._marker = None
                return True
        return False

    def hang(self, on: bool = True) -> None:
        """Accept and never answer (on), or close the hung connections and pipe again (off)."""
        with self._lock:
            self.hung = on
            hung: list[socket.socket] = []
            if not on:
                hung, self._hung = self._hung, []
        for sock in hung:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def freeze(self, on: bool = True) -> None:
        """Stop (on) or resume (off) passing anything on the connections already piped."""
        self.frozen = on

    def close(self) -> None:
        self.hang(False)
        self.closed = True
        self._accepting.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                if self.hung:
                    self._hung.append(client)  # what it sends is never read nor answered
                    continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            self.connections += 1
            thread = threading.Thread(
                target=self._pipe, args=(client, server), name="tcp-proxy-pipe", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _pipe(self, client: socket.socket, server: socket.socket) -> None:
        doomed_at: float | None = None
        tail = b""  # the last bytes of the swallowed answer (ReadyForQuery may be split)
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, server)
        sel.register(server, selectors.EVENT_READ, client)
        try:
            while not self.closed:
                if doomed_at is not None and time.monotonic() - doomed_at > DOOM_SECONDS:
                    break
                if self.frozen:
                    time.sleep(POLL_SECONDS)
                    continue
                for key, _ in sel.select(timeout=POLL_SECONDS):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(65536)
                    if not data:
                        return
                    if source is client:
                        if doomed_at is None and self._take_marker(data):
                            doomed_at = time.monotonic()
                        server.sendall(data)
                    elif doomed_at is None:
                        client.sendall(data)
                    else:
                        tail = (tail + data)[-6:]
                        if tail[:5] == READY_FOR_QUERY:
                            # The whole answer is in (and lost): cut both sides now.
                            self.dropped += 1
                            return
        except OSError:
            return
        finally:
            sel.close()
            for sock in (client, server):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
