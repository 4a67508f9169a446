"""What the loopback fakes share: a threaded HTTP server on 127.0.0.1 in a daemon thread."""

import threading
from http.server import ThreadingHTTPServer


class _ThreadingServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the load benchmarks open 32 connections at once


class LoopbackServer:
    """Start, stop and address a fake. Subclasses name their `handler_class`, whose handlers
    reach the fake as `self.server.fake`."""

    handler_class = None

    def __init__(self, *, port=0):
        self._port = port
        self._server = None
        self._thread = None

    def start(self):
        self._server = _ThreadingServer(("127.0.0.1", self._port), self.handler_class)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"
