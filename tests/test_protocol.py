"""The wire format between grader and worker: plain data round-trips, anything else is refused.

The grader decodes bytes that a submission could have written itself, so every malformed message
must end as a ProtocolError (never another exception, never an object of the submission's kind).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import struct
import time

import numpy as np
import pytest

from autograder.worker import protocol
from autograder.worker.protocol import ProtocolError

ALLOWED_DTYPES = ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8",
                  "c16", ">f4", ">i8"]


def round_trip(value):
    return protocol.decode(protocol.encode(value))


def frame(header: object, arrays: bytes = b"") -> bytes:
    """A message built by hand, the way a hostile worker could."""
    raw = json.dumps(header).encode()
    return struct.pack(">I", len(raw)) + raw + arrays


# --- round trips ----------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2**63 - 1, -(2**63), 1.5, -0.0, "", "grüße ✓",
    [1, [2, [3]]], (1, "a", None), {"a": [1, 2], "b": {"c": (3.5,)}}, [], {}, (),
])
def test_plain_values_round_trip(value):
    back = round_trip(value)
    assert back == value and type(back) is type(value)


def test_nan_and_infinities_round_trip():
    back = round_trip([math.nan, math.inf, -math.inf])
    assert math.isnan(back[0]) and back[1] == math.inf and back[2] == -math.inf


@pytest.mark.parametrize("dtype", ALLOWED_DTYPES)
def test_numeric_arrays_round_trip_exactly(dtype):
    rng = np.random.default_rng(0)
    arr = (rng.normal(size=(3, 4)) * 50).astype(dtype)
    back = round_trip(arr)
    assert type(back) is np.ndarray and back.dtype == arr.dtype and back.shape == (3, 4)
    assert np.array_equal(back, arr)
    assert back.flags.writeable and back.flags.owndata


def test_scalars_empty_zero_d_and_strided_arrays():
    assert type(round_trip(np.float32(1.5))) is np.float32 and round_trip(np.float32(1.5)) == 1.5
    assert round_trip(np.array(3.0)).shape == ()
    assert round_trip(np.zeros((0, 5), np.int64)).shape == (0, 5)
    strided = np.arange(12.0).reshape(3, 4).T[::2]
    assert np.array_equal(round_trip(strided), strided)


def test_an_ndarray_subclass_arrives_as_a_plain_array():
    class Liar(np.ndarray):
        def __eq__(self, other):  # would make any comparison pass in the grader
            return True

    back = round_trip(np.arange(3.0).view(Liar))
    assert type(back) is np.ndarray
    assert not np.array_equal(back, [9.0, 9.0, 9.0])


# --- what encode refuses ------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    np.array([object()], dtype=object), np.array(["a"]), np.zeros(2, dtype="M8[s]"),
    np.zeros(2, dtype=[("a", "f4")]), object(), b"bytes", {1: "a"}, 2**64, {3.5},
])
def test_encode_refuses_what_is_not_plain_data(value):
    with pytest.raises(ProtocolError):
        protocol.encode(value)


def test_encode_refuses_deep_nesting():
    value: list = []
    for _ in range(100):
        value = [value]
    with pytest.raises(ProtocolError, match="nested"):
        protocol.encode(value)


# --- what decode refuses ------------------------------------------------------------------------

def _array(dtype: str, shape: list, nbytes: int, **extra) -> bytes:
    return frame({"v": {"__array__": 0, "dtype": dtype, "shape": shape, "scalar": False, **extra},
                  "sizes": [nbytes]}, b"\0" * nbytes)


@pytest.mark.parametrize("data", [
    b"", b"\0\0", b"\xff\xff\xff\xff{}", struct.pack(">I", 10) + b"{}",
    struct.pack(">I", 3) + b"{\"v",  # header cut short
    struct.pack(">I", 4) + b"\xff\xfe\0\0",  # not UTF-8
    frame([1, 2]), frame({"v": 1}), frame({"v": 1, "sizes": [], "x": 0}),
    frame({"v": 1, "sizes": [-4, 4]}), frame({"v": 1, "sizes": [3]}, b"ab"),
    frame({"v": 1, "sizes": []}, b"trailing"), frame({"v": 1, "sizes": ["4"]}, b"abcd"),
    frame({"v": {"unknown": 1}, "sizes": []}), frame({"v": {"__tuple__": 5}, "sizes": []}),
    frame({"v": {"__dict__": [1]}, "sizes": []}), frame({"v": 2**70, "sizes": []}),
    frame({"v": {"__array__": 3, "dtype": "<f4", "shape": [], "scalar": True}, "sizes": []}),
    _array("|O", [1], 8), _array("<U2", [1], 8), _array("V8", [1], 8), _array("M8[s]", [1], 8),
    _array("not a dtype", [1], 8), _array("<f4", [3], 8), _array("<f4", [-1], 0),
    _array("<f4", [2**62, 2**62], 0), _array("<f4", [1.0], 4), _array("<f4", [True], 4),
    _array("<f4", [1] * 40, 4), _array("<f4", [1], 4, extra_key=1),
], ids=lambda d: repr(d[:40]))
def test_decode_refuses_malformed_messages(data):
    with pytest.raises(ProtocolError):
        protocol.decode(data)


def test_decode_refuses_a_header_over_its_limit():
    data = protocol.encode(["x" * 1000] * 100)
    with pytest.raises(ProtocolError, match="too large"):
        protocol.decode(data, max_header=10_000)
    assert len(protocol.decode(data)) == 100


def test_decode_refuses_json_nested_beyond_recursion():
    raw = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ProtocolError):
        protocol.decode(struct.pack(">I", len(raw)) + raw)


def test_random_corruption_only_ever_raises_protocol_error():
    good = protocol.encode({"value": np.arange(6, dtype=np.float32).reshape(2, 3),
                            "tensor": True, "ops": ["MatMul", "Relu"], "pair": (1, 2.5)})
    rng = random.Random(0)
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        cut = rng.choice([len(data), rng.randrange(len(data))])
        with contextlib.suppress(ProtocolError):
            protocol.decode(bytes(data[:cut]))


# --- frames -------------------------------------------------------------------------------------

@pytest.fixture
def pipe():
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        with contextlib.suppress(OSError):
            os.close(fd)


def test_frames_round_trip_through_a_pipe(pipe):
    r, w = pipe
    payload = protocol.encode({"x": np.ones(100)})
    protocol.write_frame(w, payload)
    assert protocol.read_frame(r, time.monotonic() + 5) == payload


def test_an_oversized_frame_is_refused_before_it_is_read(pipe):
    r, w = pipe
    os.write(w, struct.pack(">Q", 1 << 60))  # claims an exabyte, sends nothing more
    with pytest.raises(ProtocolError, match="exceeds the limit"):
        protocol.read_frame(r, time.monotonic() + 5, max_size=64 << 20)


def test_a_frame_over_the_grader_limit_is_refused(pipe):
    r, w = pipe
    protocol.write_frame(w, b"x" * 2000)
    with pytest.raises(ProtocolError, match=r"2 KiB exceeds the limit of 1000 bytes"):
        protocol.read_frame(r, time.monotonic() + 5, max_size=1000)


def test_a_frame_cut_short_is_closed_and_silence_times_out(pipe):
    r, w = pipe
    with pytest.raises(protocol.Timeout):
        protocol.read_frame(r, time.monotonic() + 0.2)
    os.write(w, struct.pack(">Q", 100) + b"only this")
    os.close(w)
    with pytest.raises(protocol.Closed):
        protocol.read_frame(r, time.monotonic() + 5)


def test_sizes_for_people():
    assert protocol.human(512) == "512 bytes"
    assert protocol.human(64 << 20) == "64 MiB"
    assert protocol.human(3 << 29) == "1.5 GiB"
    assert protocol.size_of({"a": np.zeros(1000, np.float64), "b": "xy"}) >= 8000
