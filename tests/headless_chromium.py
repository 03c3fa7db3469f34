"""One headless Chromium that renders several pages, driven over the DevTools protocol.

``--remote-debugging-pipe`` makes Chromium read protocol commands from file descriptor 3 and
write replies and events to descriptor 4, each message a JSON object ended by a NUL byte
(Chrome DevTools Protocol). So the standard library is enough, and one browser start serves
every page of a test module instead of one start per page.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1300,3000",
]
PROBE = """
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(String(e.message)));
const __consoleError = console.error;
console.error = (...a) => { window.__errors.push(a.join(" ")); __consoleError(...a); };
"""
"""Runs before any script of each page: collects uncaught errors and console errors."""
RENDERED = """window.carbsLitePlots.then(() => ({
  errors: window.__errors,
  plots: document.querySelectorAll(".js-plotly-plot .main-svg").length > 0
    ? document.querySelectorAll(".js-plotly-plot").length : 0,
  title: document.title,
}))"""
"""Waits for every plot of a carbs_lite page, then reports what the page shows."""


@dataclass(frozen=True)
class Rendered:
    """What a page showed once its plots were drawn."""

    errors: list[str]
    """Uncaught JavaScript errors and console errors, in order."""
    plots: int
    """Plots drawn (0 if no plot has an SVG)."""
    title: str
    """The document title after the page's own scripts ran."""


class Chromium:
    """A headless Chromium process; ``render`` opens each page in a new tab."""

    def __init__(self, executable: str, profile: Path, timeout: float = 120.0) -> None:
        self.timeout = timeout
        commands_read, self._commands = _high_pipe()
        self._replies, replies_write = _high_pipe()
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, commands_read, 3),
            (os.POSIX_SPAWN_DUP2, replies_write, 4),
        ]
        argv = [executable, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}"]
        self._pid = os.posix_spawn(executable, argv, dict(os.environ), file_actions=actions)
        os.close(commands_read)
        os.close(replies_write)
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []

    def render(self, page: Path, screenshot: Path | None = None) -> Rendered:
        """Load ``page`` in a new tab, wait for its plots, and say what it shows; a PNG of the
        whole page goes to ``screenshot`` if given. AssertionError if the page never finishes."""
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})
        session_id = session["sessionId"]
        try:
            self._call("Page.enable", {}, session_id)
            self._call("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE}, session_id)
            self._call("Page.navigate", {"url": page.as_uri()}, session_id)
            self._event("Page.loadEventFired", session_id)
            shown = self._call(
                "Runtime.evaluate",
                {"expression": RENDERED, "awaitPromise": True, "returnByValue": True},
                session_id,
            )
            if "exceptionDetails" in shown:
                raise AssertionError(f"{page.name} never finished rendering: {shown}")
            if screenshot is not None:
                picture = self._call(
                    "Page.captureScreenshot",
                    {"format": "png", "captureBeyondViewport": True},
                    session_id,
                )
                screenshot.write_bytes(base64.b64decode(picture["data"]))
            return Rendered(**shown["result"]["value"])
        finally:
            self._call("Target.closeTarget", {"targetId": target})
            self._events = [e for e in self._events if e.get("sessionId") != session_id]

    def close(self) -> None:
        """Ask the browser to quit; kill it if it has not within a few seconds."""
        with contextlib.suppress(OSError):  # it may be gone already
            self._send("Browser.close", {}, None)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if os.waitpid(self._pid, os.WNOHANG)[0]:
                break
            time.sleep(0.05)
        else:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
        os.close(self._commands)
        os.close(self._replies)

    def _send(self, method: str, params: dict[str, Any], session_id: str | None) -> int:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session_id is not None:
            message["sessionId"] = session_id
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _call(
        self, method: str, params: dict[str, Any], session_id: str | None = None
    ) -> dict[str, Any]:
        """Send one command and return its result (other messages that arrive meanwhile are
        kept as events); AssertionError if Chromium answers with an error."""
        wanted = self._send(method, params, session_id)
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._receive(deadline, method)
            if message.get("id") == wanted:
                if "error" in message:
                    raise AssertionError(f"Chromium refused {method}: {message['error']}")
                return message["result"]
            if "method" in message:
                self._events.append(message)

    def _event(self, method: str, session_id: str) -> dict[str, Any]:
        """The first event ``method`` of the session, waiting for it if it has not come."""
        deadline = time.monotonic() + self.timeout
        while True:
            for event in self._events:
                if event["method"] == method and event.get("sessionId") == session_id:
                    self._events.remove(event)
                    return event
            message = self._receive(deadline, method)
            if "method" in message:
                self._events.append(message)

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        """The next message from Chromium; AssertionError past ``deadline`` or if it exits."""
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                raise AssertionError(f"Chromium did not answer {waiting_for} in {self.timeout} s")
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise AssertionError(f"Chromium exited while answering {waiting_for}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)


def _high_pipe() -> tuple[int, int]:
    """A pipe whose two ends are descriptors 10 or above, so that placing them on 3 and 4 in
    the child cannot overwrite one with the other."""
    read, write = os.pipe()
    high = (
        fcntl.fcntl(read, fcntl.F_DUPFD_CLOEXEC, 10),
        fcntl.fcntl(write, fcntl.F_DUPFD_CLOEXEC, 10),
    )
    os.close(read)
    os.close(write)
    return high
