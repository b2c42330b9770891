"""What a user meets before grading anything: a clean install and a clean working tree."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from util import ROOT


def test_the_license_is_an_spdx_string_not_a_deprecated_table():
    """setuptools 77 and later warn on every install about ``license = { text = ... }``."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")  # tomllib is 3.11+; 3.10 is ours
    assert re.search(r'^license\s*=\s*"[A-Za-z0-9.+-]+"\s*$', text, re.MULTILINE)
    assert not re.search(r"^license\s*=\s*\{", text, re.MULTILINE)
    assert re.search(r'requires = \["setuptools>=(7[7-9]|[89]\d)', text)  # SPDX strings need 77


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="not a git checkout")
@pytest.mark.parametrize("path", ["grades/gradebook.sqlite", "grades/mlp_mnist.csv",
                                  "assignments/losses/.ipynb_checkpoints/losses-checkpoint.ipynb",
                                  "course/gradebook.db", "course/release/losses/losses.ipynb"])
def test_what_grading_and_jupyter_leave_behind_is_ignored_by_git(path: str):
    done = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, timeout=30)
    assert done.returncode == 0, f"{path} is not ignored by git"
