"""The attack tests again where the system refuses the sandbox's namespaces (issue 23).

Gradescope's autograder runs in a Docker container with the default capabilities, and a
locked-down JupyterHub may refuse namespaces too. Run as root, this runs
``tests/test_attacks.py`` and ``tests/test_containment.py`` again in such a process, twice:

- ``no-sys-admin``: root without ``CAP_SYS_ADMIN`` (``setpriv --bounding-set -sys_admin``), as in
  such a container: the pid, network and mount namespaces come through a user namespace, where
  the kernel allows one without privileges (Docker's default seccomp profile does not);
- ``no-namespaces``: the same, with ``AUTOGRADER_NAMESPACES=0``: no namespace at all, so what
  holds is the worker's own uid, Landlock, seccomp, the cgroup and the launcher's sweep.

The worker's uid must be able to read Python. Where Python lies in a folder other users cannot
enter (a pyenv under ``/root``, mode 0700), the run gets a view of its own, a private mount
namespace in which that folder is 0711 (its entries bound back in): what an instructor does
by installing Python where other users can read it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from util import ROOT

from autograder.worker import rootfs
from autograder.worker.steps import PACKAGE_DIR, STUDENT_DIR

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root (to drop its rights)")]

FILES = ["tests/test_attacks.py", "tests/test_containment.py"]


def closed_folders() -> list[str]:
    """Folders on the way to Python that other users cannot enter."""
    closed = set()
    for path in [sys.executable, *rootfs.python_paths(PACKAGE_DIR, STUDENT_DIR)]:
        for parent in Path(os.path.realpath(path)).parents:
            if not parent.stat().st_mode & 0o001:
                closed.add(str(parent))
    return sorted(closed)


def view(folders: list[str], stash: Path) -> str:
    """A shell script making each of ``folders`` 0711 in this mount namespace, its entries
    bound back in."""
    lines = ["set -e"]
    for k, folder in enumerate(folders):
        kept, shown = shlex.quote(str(stash / str(k))), shlex.quote(folder)
        lines += [f"mkdir -p {kept}", f"mount --bind {shown} {kept}",
                  f"mount -t tmpfs -o mode=0711 tmpfs {shown}",
                  f'for e in {kept}/* {kept}/.[!.]*; do [ -e "$e" ] || continue; '
                  f'n=$(basename "$e"); if [ -d "$e" ]; then mkdir {shown}/"$n"; '
                  f'else touch {shown}/"$n"; fi; mount --bind "$e" {shown}/"$n"; done']
    return "\n".join(lines) + '\nexec "$@"\n'


@pytest.mark.parametrize("namespaces", ["1", "0"], ids=["no-sys-admin", "no-namespaces"])
def test_the_attack_tests_pass_without_cap_sys_admin(tmp_path, namespaces):
    setpriv, unshare = shutil.which("setpriv"), shutil.which("unshare")
    if setpriv is None or unshare is None:
        pytest.skip("needs util-linux's setpriv and unshare")
    command = [setpriv, "--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin",
               sys.executable, "-m", "pytest", "-v", "-n", "0", "-p", "no:cacheprovider",
               "--strict-markers", "--basetemp", str(tmp_path / "t"), "-rs", *FILES]
    closed = closed_folders()
    if closed:
        script = tmp_path / "view.sh"
        script.write_text(view(closed, tmp_path / "stash"))
        command = [unshare, "--mount", "--propagation", "private", "sh", str(script), *command]
    env = {**os.environ, "AUTOGRADER_NAMESPACES": namespaces}
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=1800)
    summary = proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, summary
    if namespaces == "0":
        assert "::test_without_namespaces_a_uid_landlock_and_seccomp_hold PASSED" in proc.stdout
    else:
        assert "::test_as_root_every_defence_is_active PASSED" in proc.stdout, summary
    assert "::test_a_swarm_of_busy_processes_gets_one_core_at_most PASSED" in proc.stdout
