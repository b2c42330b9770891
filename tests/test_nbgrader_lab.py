"""JupyterLab started in course/ shows the course through nbgrader's server extensions.

A real ``jupyter lab`` on a loopback port with a token; the assignment list is read from the
formgrader's HTTP API, which is what the Formgrader panel in JupyterLab shows, and the *Validate*
button's request is sent as the button sends it. No browser.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from util import ROOT

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
FORMGRADER = "nbgrader.server_extensions.formgrader"
VALIDATE = "nbgrader.server_extensions.validate_assignment"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect (to the login page) is an answer, not something to follow


def get(url: str, token: str, data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_jupyterlab_lists_the_course_assignments(tmp_path: Path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "course" / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "course" / "source", course / "source")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", "losses"], cwd=course, env=env,
                   check=True, capture_output=True, timeout=300)
    port, token = free_port(), secrets.token_hex(16)
    command = [str(BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}",
               f"--ServerApp.jpserver_extensions={FORMGRADER}=True",
               f"--ServerApp.jpserver_extensions={VALIDATE}=True"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(command, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if get(f"{base}/api/status", token)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"jupyter lab did not start:\n{(tmp_path / 'lab.log').read_text()[-3000:]}")
        assert get(f"{base}/formgrader/api/assignments", "wrong-token")[0] in (302, 403)
        status, body = get(f"{base}/formgrader/api/assignments", token)
        assert status == 200, body[:500]
        listed = {a["name"]: a for a in json.loads(body)}
        expected = sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
        assert sorted(listed) == expected and "mlp_mnist" in listed
        assert listed["mlp_mnist"]["source_path"] == "source/mlp_mnist"
        status, _ = get(f"{base}/lab", token)
        assert status == 200
        # the Validate button on the untouched release: the hidden tests fail, with reasons
        status, body = get(f"{base}/assignments/validate", token,
                           data=b"path=release/losses/losses.ipynb")
        assert status == 200, body[:500]
        answer = json.loads(body)
        assert answer["success"], answer
        failed = answer["value"].get("failed", [])
        assert failed and all("HiddenTestFailed" in f["raw_error"] for f in failed), answer
        said = [f["raw_error"] for f in failed]  # the points once, under the last failing test
        assert "Points if handed in now: 0 / 20" in said[-1]
        assert not any("Points if handed in now" in text for text in said[:-1])
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    assert f"{FORMGRADER} | extension was successfully loaded" in (tmp_path / "lab.log").read_text()
