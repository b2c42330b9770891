"""The sandbox as a normal user: the attack and containment tests again, in a process that is
not root.

Most machines that grade are not root (a TA's laptop, a CI runner). There the launcher first
makes a user namespace, which gives it the right to make the others. Run as root, this test runs
``tests/test_attacks.py`` again as uid 1000 in a user namespace of its own, with no capabilities
(``unshare --map-user``) and owning the kit's files, as a user who installed the kit in their
home would. The root-only tests skip there and the normal-user ones run.

The fork bomb and the stricter process limit without a cgroup are left out: their real user is
still root outside the namespace, and the kernel exempts root from the process limit (the fork
bomb would fork until the machine has no pids left). On a
real normal user's machine the limit applies; that case cannot be made here without root's
Python being readable by another user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from util import ROOT


@pytest.mark.skipif(os.geteuid() != 0, reason="already a normal user: every test runs that path")
def test_the_attack_tests_pass_as_a_normal_user(tmp_path):
    unshare = shutil.which("unshare")
    if unshare is None or "--map-user" not in subprocess.run(
            [unshare, "--help"], capture_output=True, text=True).stdout:
        pytest.skip("needs util-linux's unshare with --map-user (2.38 or later)")
    proc = subprocess.run(
        [unshare, "--user", "--map-user=1000", "--map-group=1000", sys.executable, "-m", "pytest",
         "-v", "-n", "0", "-p", "no:cacheprovider", "--strict-markers",
         "--basetemp", str(tmp_path / "t"),
         "-rs", "-k", "not fork_bomb and not without_a_cgroup", "tests/test_attacks.py",
         "tests/test_containment.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=1800)
    summary = proc.stdout[-6000:]
    assert proc.returncode == 0, summary
    assert "::test_as_a_normal_user_the_namespaces_still_isolate PASSED" in proc.stdout, summary
