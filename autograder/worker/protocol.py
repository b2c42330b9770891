"""Plain data between the grader and the worker: JSON plus raw numeric array buffers, no pickle.

A message is a frame: an 8-byte big-endian length, then a 4-byte header length, a UTF-8 JSON
header, and the concatenated raw bytes of the arrays the header refers to. What the JSON can hold:
``None``, ``bool``, ``int``, ``float`` (NaN and infinities included), ``str``, lists, dicts with
string keys, tuples (``{"__tuple__": [...]}``) and numeric numpy arrays and scalars
(``{"__array__": i, "dtype": "<f4", "shape": [...]}``). Decoding accepts only these; anything else
is a :class:`ProtocolError`. The decoder builds plain Python and numpy objects from bytes, so a
value that misbehaved in the worker (a custom ``__eq__``, an ``ndarray`` subclass) arrives as
ordinary data.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

import numpy as np

MAX_FRAME = 1 << 30  # 1 GiB: the largest message the grader accepts
ALLOWED_KINDS = frozenset("biufc")  # bool, signed, unsigned, float, complex
_LEN = struct.Struct(">Q")
_HDR = struct.Struct(">I")


class ProtocolError(ValueError):
    """A message that is not plain data, is too large, or is cut short."""


class Timeout(TimeoutError):
    """No complete message arrived before the deadline."""


class Closed(EOFError):
    """The other side closed its end (for the grader: the worker died)."""


def _encode(obj: Any, buffers: list[bytes], depth: int = 0) -> Any:
    if depth > 64:
        raise ProtocolError("value nested more than 64 levels deep")
    if obj is None or type(obj) in (bool, str):
        return obj
    if type(obj) is int:
        return obj
    if type(obj) is float:
        return obj
    if isinstance(obj, np.generic) or isinstance(obj, np.ndarray):
        arr = np.array(obj, copy=True, subok=False, order="C")
        if arr.dtype.kind not in ALLOWED_KINDS:
            raise ProtocolError(f"arrays of dtype {arr.dtype} cannot be sent (numbers only)")
        buffers.append(arr.tobytes())
        scalar = isinstance(obj, np.generic)
        return {"__array__": len(buffers) - 1, "dtype": arr.dtype.str, "shape": list(arr.shape),
                "scalar": scalar}
    if type(obj) is tuple:
        return {"__tuple__": [_encode(v, buffers, depth + 1) for v in obj]}
    if type(obj) is list:
        return [_encode(v, buffers, depth + 1) for v in obj]
    if type(obj) is dict:
        if not all(type(k) is str for k in obj):
            raise ProtocolError("dict keys must be strings")
        return {"__dict__": {k: _encode(v, buffers, depth + 1) for k, v in obj.items()}}
    raise ProtocolError(f"a value of type {type(obj).__name__} cannot be sent (plain data only)")


def encode(obj: Any) -> bytes:
    buffers: list[bytes] = []
    header = json.dumps({"v": _encode(obj, buffers), "sizes": [len(b) for b in buffers]},
                        allow_nan=True).encode("utf-8")
    return _HDR.pack(len(header)) + header + b"".join(buffers)


def _decode(obj: Any, buffers: list[memoryview], depth: int = 0) -> Any:
    if depth > 66:
        raise ProtocolError("value nested too deeply")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [_decode(v, buffers, depth + 1) for v in obj]
    if isinstance(obj, dict):
        if "__array__" in obj:
            dtype = np.dtype(str(obj["dtype"]))
            if dtype.kind not in ALLOWED_KINDS or dtype.hasobject or dtype.fields:
                raise ProtocolError(f"dtype {dtype} not allowed")
            shape = tuple(int(s) for s in obj["shape"])
            if any(s < 0 for s in shape):
                raise ProtocolError("negative array dimension")
            buf = buffers[int(obj["__array__"])]
            if len(buf) != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
                raise ProtocolError("array buffer does not match its shape")
            arr = np.frombuffer(buf, dtype=dtype).reshape(shape).copy()
            return arr[()] if obj.get("scalar") else arr
        if "__tuple__" in obj:
            return tuple(_decode(v, buffers, depth + 1) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {str(k): _decode(v, buffers, depth + 1) for k, v in obj["__dict__"].items()}
    raise ProtocolError("malformed message")


def decode(data: bytes) -> Any:
    try:
        (hlen,) = _HDR.unpack_from(data, 0)
        header = json.loads(bytes(data[_HDR.size : _HDR.size + hlen]).decode("utf-8"))
        view = memoryview(data)[_HDR.size + hlen :]
        buffers, pos = [], 0
        for size in header["sizes"]:
            buffers.append(view[pos : pos + int(size)])
            pos += int(size)
        if pos != len(view):
            raise ProtocolError("trailing bytes after the arrays")
        return _decode(header["v"], buffers)
    except ProtocolError:
        raise
    except (struct.error, ValueError, KeyError, TypeError, IndexError, RecursionError) as exc:
        raise ProtocolError(f"malformed message: {exc}") from None


def write_frame(fd: int, payload: bytes) -> None:
    data = _LEN.pack(len(payload)) + payload
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, remaining = [], n
    while remaining:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise Timeout()
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise Closed()
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, deadline: float | None = None, max_size: int = MAX_FRAME) -> bytes:
    """Read one frame; ``deadline`` is a ``time.monotonic()`` value, None waits forever."""
    (size,) = _LEN.unpack(_read_exact(fd, _LEN.size, deadline))
    if size > max_size:
        raise ProtocolError(f"message of {size} bytes exceeds the limit of {max_size}")
    return _read_exact(fd, size, deadline)
