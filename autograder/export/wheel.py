"""A pure-Python wheel written directly: the student package, as students install it.

A wheel is a zip of the package's files plus a ``.dist-info`` folder (``METADATA``, ``WHEEL``,
``RECORD``; PEP 427 and the core metadata specification). Written here rather than by a build
backend, the student package's wheel holds exactly the files named, is the same bytes for the
same files (fixed timestamps), and needs no build tool or network while the bundle is made.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Iterable
from pathlib import Path

_DATE = (2026, 1, 1, 0, 0, 0)


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write(folder: Path, *, name: str, version: str, summary: str, requires_python: str,
          requires: Iterable[str], extras: dict[str, list[str]], files: dict[str, bytes],
          description: str = "") -> Path:
    """Write ``<name>-<version>-py3-none-any.whl`` into ``folder``; ``files`` maps paths inside
    the wheel (``coursekit/__init__.py``) to their bytes. Returns the wheel's path."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
                f"Summary: {summary}", f"Requires-Python: {requires_python}"]
    metadata += [f"Requires-Dist: {r}" for r in requires]
    for extra, needs in extras.items():
        metadata.append(f"Provides-Extra: {extra}")
        metadata += [f"Requires-Dist: {r}; extra == \"{extra}\"" for r in needs]
    if description:
        metadata += ["Description-Content-Type: text/markdown", "", description]
    contents = dict(sorted(files.items()))
    contents[f"{info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    contents[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: autograder export student\n"
                                 b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = [f"{path},{_digest(data)},{len(data)}" for path, data in contents.items()]
    contents[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    path = Path(folder) / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in contents.items():
            entry = zipfile.ZipInfo(member, date_time=_DATE)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return path
