"""A static HTTP server on 127.0.0.1 for the image tests.

It serves a directory (directory listings included, which look like the
index pages of a linuxcontainers image server), records every request path
and can cut chosen files off halfway through the body.
"""
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args, state, **kwargs):
        self.server_state = state
        super().__init__(*args, **kwargs)

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        path = unquote(urlsplit(self.path).path)
        with self.server_state.lock:
            self.server_state.requests.append(self.path)
            truncated = path in self.server_state.truncated
        if truncated:
            self._send_truncated()
            return
        super().do_GET()

    def _send_truncated(self):
        """Announce the whole file, send half of it, then close."""
        local = self.translate_path(self.path)
        with open(local, "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True


class _State:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.truncated = set()


class ImageServer:
    """Serves ROOT on http://127.0.0.1:<free port>/ until stop()."""

    def __init__(self, root):
        self.root = root
        self._state = _State()
        handler = partial(_Handler, directory=str(root), state=self._state)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self):
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path):
        return f"{self.base_url}/{path.lstrip('/')}"

    def truncate(self, path, enabled=True):
        """Send only the first half of PATH (relative to ROOT) from now on."""
        with self._state.lock:
            if enabled:
                self._state.truncated.add("/" + path.lstrip("/"))
            else:
                self._state.truncated.discard("/" + path.lstrip("/"))

    @property
    def requests(self):
        with self._state.lock:
            return list(self._state.requests)

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)
