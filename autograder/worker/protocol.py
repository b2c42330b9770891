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

MAX_FRAME = 1 << 30  # 1 GiB: the largest message either side reads (the grader sets less)
MAX_HEADER = 8 << 20  # 8 MiB of JSON in a reply: lists of numbers belong in arrays
MAX_NDIM = 32
INT64 = 1 << 63
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
        if not -INT64 <= obj < INT64:
            raise ProtocolError("an integer beyond the 64-bit range cannot be sent")
        return obj
    if type(obj) is float:
        return obj
    if isinstance(obj, (np.generic, np.ndarray)):
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


def _array(obj: dict, buffers: list[memoryview]) -> Any:
    if set(obj) != {"__array__", "dtype", "shape", "scalar"}:
        raise ProtocolError("malformed array")
    index, dtype_text, shape, scalar = obj["__array__"], obj["dtype"], obj["shape"], obj["scalar"]
    if type(index) is not int or not 0 <= index < len(buffers) or type(dtype_text) is not str:
        raise ProtocolError("malformed array")
    try:
        dtype = np.dtype(dtype_text)
    except TypeError:
        raise ProtocolError(f"unknown dtype {dtype_text[:40]!r}") from None
    if dtype.kind not in ALLOWED_KINDS or dtype.hasobject or dtype.fields or dtype.shape:
        raise ProtocolError(f"dtype {dtype} not allowed (numbers only)")
    if (type(shape) is not list or len(shape) > MAX_NDIM
            or not all(type(n) is int and 0 <= n < INT64 for n in shape)):
        raise ProtocolError("malformed array shape")
    count = 1
    for n in shape:
        count *= n
    buf = buffers[index]
    if count * dtype.itemsize != len(buf):
        raise ProtocolError("array buffer does not match its shape")
    arr = np.frombuffer(buf, dtype=dtype).reshape(shape).copy()
    if scalar is True and arr.ndim == 0:
        return arr[()]
    return arr


def _decode(obj: Any, buffers: list[memoryview], depth: int = 0) -> Any:
    if depth > 66:
        raise ProtocolError("value nested too deeply")
    if obj is None or type(obj) in (bool, float, str):
        return obj
    if type(obj) is int:
        if not -INT64 <= obj < INT64:
            raise ProtocolError("integer out of the 64-bit range")
        return obj
    if type(obj) is list:
        return [_decode(v, buffers, depth + 1) for v in obj]
    if type(obj) is dict:
        if "__array__" in obj:
            return _array(obj, buffers)
        if len(obj) == 1 and type(obj.get("__tuple__")) is list:
            return tuple(_decode(v, buffers, depth + 1) for v in obj["__tuple__"])
        if len(obj) == 1 and type(obj.get("__dict__")) is dict:
            return {k: _decode(v, buffers, depth + 1) for k, v in obj["__dict__"].items()}
    raise ProtocolError("malformed message")


def decode(data: bytes, max_header: int = MAX_HEADER) -> Any:
    """Rebuild a message from its bytes; anything but well-formed plain data is a ProtocolError."""
    try:
        (hlen,) = _HDR.unpack_from(data, 0)
        if hlen > max_header or _HDR.size + hlen > len(data):
            raise ProtocolError(f"message header of {human(hlen)} is too large or cut short")
        header = json.loads(bytes(data[_HDR.size : _HDR.size + hlen]).decode("utf-8"))
        if type(header) is not dict or set(header) != {"v", "sizes"}:
            raise ProtocolError("malformed message header")
        sizes = header["sizes"]
        if type(sizes) is not list or not all(type(n) is int and n >= 0 for n in sizes):
            raise ProtocolError("malformed array sizes")
        view = memoryview(data)[_HDR.size + hlen :]
        if sum(sizes) != len(view):
            raise ProtocolError("array bytes do not add up to the message")
        buffers, pos = [], 0
        for size in sizes:
            buffers.append(view[pos : pos + size])
            pos += size
        return _decode(header["v"], buffers)
    except ProtocolError:
        raise
    except MemoryError:
        raise ProtocolError("message too large to decode") from None
    except Exception as exc:  # decoding untrusted bytes: nothing else may escape
        raise ProtocolError(f"malformed message ({type(exc).__name__})") from None


def size_of(obj: Any, depth: int = 0) -> int:
    """Roughly how many bytes ``obj`` takes on the wire (arrays exactly, the rest estimated)."""
    if depth > 64:
        return 0
    if isinstance(obj, np.ndarray | np.generic):
        return int(obj.nbytes) + 64
    if isinstance(obj, str | bytes):
        return len(obj) + 2
    if isinstance(obj, list | tuple):
        return sum(size_of(v, depth + 1) for v in obj) + 2
    if isinstance(obj, dict):
        return sum(len(str(k)) + size_of(v, depth + 1) for k, v in obj.items()) + 2
    return 8


def human(size: int) -> str:
    """A byte count for people: ``512 bytes``, ``64 MiB``, ``1.5 GiB``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{size} bytes"


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
        raise ProtocolError(f"a message of {human(size)} exceeds the limit of {human(max_size)}")
    return _read_exact(fd, size, deadline)
