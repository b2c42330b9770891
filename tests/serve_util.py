"""The grading service for the tests and the benchmark: a real `autograder serve` process on the
loopback address, plain HTTP requests to it, and notebooks to send."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def notebook(assignment: str, *, stub: bool = False, replace: tuple[tuple[str, str], ...] = (),
             sleep: float = 0.0, variant: str = "") -> bytes:
    """A saved notebook of ``assignment``: the reference solution (or the stub), with each
    ``(old, new)`` of ``replace`` made in the one cell that holds ``old``, a first code cell that
    sleeps ``sleep`` seconds, and a markdown cell ``variant`` (other bytes, the same code)."""
    folder = "assignments" if stub else "solutions"
    nb = json.loads((ROOT / folder / assignment / f"{assignment}.ipynb").read_text("utf-8"))
    for old, new in replace:
        cells = [c for c in nb["cells"] if old in "".join(c["source"])]
        assert len(cells) == 1, f"{old!r} is in {len(cells)} cells"
        cells[0]["source"] = "".join(cells[0]["source"]).replace(old, new)
    if sleep:
        nb["cells"].insert(0, {"cell_type": "code", "metadata": {}, "source":
                               f"import time\ntime.sleep({sleep})\n", "outputs": [],
                               "execution_count": None, "id": "sleep"})
    if variant:
        nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": variant,
                            "id": "variant"})
    return json.dumps(nb, indent=1).encode("utf-8")


def environment() -> dict[str, str]:
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0",
                PYTHONUNBUFFERED="1")


def issue_tokens(db: Path, students: list[str], folder: Path) -> dict[str, str]:
    """Tokens for ``students`` by `autograder tokens` from a CSV roster."""
    roster = folder / "roster.csv"
    roster.write_text("student\n" + "".join(f"{s}\n" for s in students), encoding="utf-8")
    out = folder / "tokens.csv"
    subprocess.run([sys.executable, "-m", "autograder", "tokens", str(roster), "--db", str(db),
                    "-o", str(out)], check=True, capture_output=True, timeout=120, cwd=ROOT)
    lines = out.read_text(encoding="utf-8").splitlines()[1:]
    return dict(line.split(",", 1) for line in lines)  # type: ignore[misc]


class Server:
    """`autograder serve --db DB --port 0 ARGS` in a process of its own, until :meth:`stop`."""

    def __init__(self, db: Path, *args: str, log: Path | None = None, timeout: float = 180):
        self.log = log or db.with_suffix(".log")
        self._err = open(self.log, "ab")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder", "serve", "--db", str(db), "--port", "0", *args],
            cwd=ROOT, env=environment(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._err, text=True)
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        if not line or "listening on" not in line[0]:
            self.stop(signal.SIGKILL)
            raise RuntimeError(f"the service did not start: {line}\n"
                               f"{self.log.read_text(errors='replace')[-3000:]}")
        self.url = line[0].split("listening on ", 1)[1].split()[0]
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    def request(self, method: str, path: str, body: bytes | None = None, token: str | None = None,
                headers: dict[str, str] | None = None, timeout: float = 300,
                chunked: bool = False) -> tuple[int, dict[str, str], Any]:
        """(status, headers, JSON body) of one request on a new connection."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if body is not None:
            sent.setdefault("Content-Type", "application/x-ipynb+json")
        try:
            if chunked:
                connection.request(method, path, body=iter([body or b""]), headers=sent,
                                   encode_chunked=True)
            else:
                connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, \
                json.loads(data) if data else None
        finally:
            connection.close()

    def check(self, token: str, body: bytes, assignment: str | None = None,
              **kwargs: Any) -> tuple[int, dict[str, str], Any]:
        path = "/api/v1/checks" + (f"?assignment={assignment}" if assignment else "")
        return self.request("POST", path, body, token, **kwargs)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._err.close()


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
