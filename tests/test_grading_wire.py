"""The examiner's channel carries data only: exact round trips, exact types, no pickles, caps."""

from __future__ import annotations

import datetime as dt
import io
import pickle
import signal
import socket
import threading
import time

import numpy as np
import pandas as pd
import pytest

from curriculum.design.document import DesignDocument, Feature, FeaturesModel, Framing
from curriculum.grading.wire import (
    ConversationClosed,
    MessageReader,
    WireError,
    decode,
    encode,
    loopback,
    pack,
    recv_message,
    send_message,
    socket_conversation,
)


def roundtrip(value, other=None, special=None):
    structure, buffers = encode(value, other)
    raw = pack({"value": structure}, buffers)
    header_length = int.from_bytes(raw[8:12], "big")
    from curriculum.grading.wire import unpack

    header, data = unpack(raw[12 : 12 + header_length], raw[12 + header_length :])
    return decode(header["value"], data, special)


FRAMES = {
    "mixed": pd.DataFrame({"a": [1, 2, 3], "b": [1.5, np.nan, 2.0], "c": ["x", "y", None]}),
    "categorical": pd.DataFrame({"c": pd.Categorical(["US", "GB", "US"])}),
    "tz": pd.DataFrame({"t": pd.to_datetime(["2025-01-01", None], utc=True)}),
    "int_columns": pd.DataFrame({0: [1, 2], 1: [3, 4]}),
    "multiindex": pd.DataFrame(
        {"m": [1.0, 2.0]}, index=pd.MultiIndex.from_tuples([(1, 2), (3, 4)], names=["c", "h"])
    ),
    "nullable": pd.DataFrame({"i": pd.array([1, None], dtype="Int64")}),
    "duplicate_columns": pd.DataFrame([[1, 2]], columns=["a", "a"]),
    "offset_index": pd.DataFrame({"a": [1, 2]}, index=[7, 3]),
    "empty": pd.DataFrame({"a": pd.Series([], dtype=float)}),
    "timedelta": pd.DataFrame({"d": pd.to_timedelta([1, 2], unit="s")}),
}


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_frames_cross_exactly(name):
    frame = FRAMES[name]
    got = roundtrip(frame)
    assert type(got) is pd.DataFrame
    pd.testing.assert_frame_equal(got, frame, check_exact=True)


def test_frames_cross_without_attrs():
    """A generator's latent facts ride in ``attrs``: they must never reach the other kernel."""
    from curriculum.datasets import make_eta_trips

    trips = make_eta_trips(50, random_state=1)
    assert trips.attrs["latent"]
    for value in (trips, trips["duration_s"], trips.iloc[:3]):
        got = roundtrip(value)
        assert got.attrs == {}
        pd.testing.assert_frame_equal(
            pd.DataFrame(got), pd.DataFrame(value).assign(), check_exact=True, check_names=False
        )
    assert trips.attrs["latent"], "the sender's frame keeps its attrs"


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(2**70),
        1.5,
        float("nan"),
        float("inf"),
        "text \u00e9\U0001f600",
        b"\x00\xff",
        bytearray(b"ab"),
        [1, [2, (3, 4)]],
        (1, "a"),
        {"a": 1, 2: [3], (1, 2): {"x"}},
        {1, 2},
        frozenset({"a"}),
        complex(1, -2),
        np.float64(2.5),
        np.int32(7),
        np.bool_(True),
        np.arange(6).reshape(2, 3),
        np.array(["a", "bc"]),
        np.array([1, "x", None], dtype=object),
        pd.Series([1.0, 2.0], index=["a", "b"], name=("x", 1)),
        pd.Index([3, 1, 2], name="k"),
        pd.DatetimeIndex(["2025-01-01"], tz="UTC"),
        pd.Categorical(["lo", "hi"], categories=["lo", "hi"], ordered=True),
        pd.Timestamp("2025-10-20 10:00", tz="UTC"),
        pd.Timestamp("2025-10-20 10:00"),
        pd.Timedelta(minutes=3),
        pd.NaT,
        dt.datetime(2025, 1, 2, 3, 4, tzinfo=dt.UTC),
        dt.date(2025, 1, 2),
        dt.timedelta(days=1, seconds=2),
    ],
    ids=repr,
)
def test_values_cross_with_their_exact_type(value):
    got = roundtrip(value)
    assert type(got) is type(value)
    if isinstance(value, np.ndarray):
        np.testing.assert_array_equal(got, value)
        assert got.dtype == value.dtype
    elif isinstance(value, pd.Series):
        pd.testing.assert_series_equal(got, value)
    elif isinstance(value, pd.Index):
        pd.testing.assert_index_equal(got, value)
    elif isinstance(value, pd.Categorical):
        assert got.equals(value) and got.ordered == value.ordered
    elif isinstance(value, float) and np.isnan(value):
        assert np.isnan(got)
    elif value is pd.NaT:
        assert got is pd.NaT
    else:
        assert got == value


def test_course_dataclasses_cross_as_fields_into_the_examiners_own_class():
    design = DesignDocument(
        prompt="p",
        framing=Framing(task_type="ranking"),
        features_model=FeaturesModel(features=[Feature("f", "user")]),
    )
    got = roundtrip(design)
    assert type(got) is DesignDocument and got == design
    assert type(got.features_model.features[0]) is Feature


def test_subclasses_with_behaviour_never_cross_as_data():
    class Liar(float):
        def __eq__(self, other):
            return True

    class Frame(pd.DataFrame):
        pass

    refs = []

    def other(obj):
        refs.append(obj)
        return {"$": "ref", "id": len(refs)}

    got = roundtrip([Liar(1.0), object()], other, special=lambda tag: ("ref", tag["id"]))
    assert got == [("ref", 1), ("ref", 2)]
    assert type(roundtrip(Frame({"a": [1]}))) is pd.DataFrame  # data, as a plain frame
    with pytest.raises(WireError, match="cannot be sent as data"):
        encode(object())


@pytest.mark.parametrize(
    "structure, buffers, match",
    [
        ({"$": "pickle"}, [], "unknown value tag"),
        ({"x": 1}, [], "malformed value"),
        ({"$": "npy", "buf": 3}, [], "missing buffer"),
        ({"$": "npy", "buf": 0}, [b"not npy"], "malformed array"),
        ({"$": "frame", "buf": 0}, [b"junk"], "malformed table"),
        ({"$": "dataclass", "type": "os:system", "fields": {}}, [], "course's data types"),
        ({"$": "dataclass", "type": "curriculum.grading.limits:MB", "fields": {}}, [], "data"),
        ({"$": "dict", "items": [[[1], 2]]}, [], "not hashable"),
        ({"$": "float", "repr": "1e309"}, [], "malformed float"),
    ],
)
def test_malformed_data_is_refused(structure, buffers, match):
    with pytest.raises(WireError, match=match):
        decode(structure, buffers)


def test_arrays_that_need_pickle_are_never_loaded():
    out = io.BytesIO()
    np.save(out, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(WireError, match="malformed array"):
        decode({"$": "npy", "buf": 0}, [out.getvalue()])
    with pytest.raises(WireError, match="unknown value tag"):
        decode({"$": "pickle", "buf": 0}, [pickle.dumps(1)])


def test_deep_nesting_is_refused():
    value = []
    for _ in range(200):
        value = [value]
    with pytest.raises(WireError, match="nested"):
        encode(value)


def test_a_message_above_the_cap_is_refused_before_it_is_read():
    a, b = socket.socketpair()
    try:
        send_message(a, {"kind": "x"}, [b"y" * 5000])
        with pytest.raises(WireError, match="larger than"):
            recv_message(b, max_bytes=1000)
        a.close()
        with pytest.raises(ConversationClosed):
            recv_message(b, max_bytes=10_000)
    finally:
        b.close()


def test_conversations_nest_calls_both_ways_over_a_socket():
    left, right = socket.socketpair()

    def answer(header, buffers):  # the "learner" side: double the value, ask back once
        value = decode(header["args"], buffers)
        reply, data = learner.request({"op": "callback", "args": encode(value)[0]}, [])
        twice = decode(reply["value"], data) * 2
        structure, out = encode(twice)
        return {"ok": True, "value": structure}, out

    def callback(header, buffers):  # the "examiner" side: add one
        return {"ok": True, "value": decode(header["args"], buffers) + 1}, []

    learner = socket_conversation(right, answer, 1 << 20)
    examiner = socket_conversation(left, callback, 1 << 20)
    thread = threading.Thread(target=learner.serve, daemon=True)
    thread.start()
    reply, data = examiner.request({"op": "call", "args": 20}, [])
    assert decode(reply["value"], data) == 42
    examiner.done()
    thread.join(5)
    assert not thread.is_alive()
    left.close()
    right.close()


def test_loopback_copies_like_the_wire():
    seen = []

    def handle(header, buffers):
        frame = decode(header["args"], buffers)
        frame["b"] = 1  # the receiver changes its copy
        seen.append(frame)
        structure, out = encode(frame)
        return {"value": structure}, out

    mine, _ = loopback(lambda h, b: ({}, []), handle)
    original = pd.DataFrame({"a": [1]})
    structure, buffers = encode(original)
    reply, data = mine.request({"args": structure}, buffers)
    assert list(original.columns) == ["a"], "the sender's frame must not change"
    assert list(decode(reply["value"], data).columns) == ["a", "b"]


def test_a_call_interrupted_mid_reply_leaves_the_conversation_in_step():
    """A cell stopped while its call waits (KeyboardInterrupt) must not shift later replies."""
    left, right = socket.socketpair()
    half_sent = threading.Event()

    def learner_side():  # answers request 1 slowly, in two halves, then request 2 at once
        read = MessageReader(right, 1 << 20)
        first, _ = read()
        raw = pack({"kind": "reply", "id": first["id"], "ok": True, "value": "late"}, [b"x" * 4096])
        right.sendall(raw[: len(raw) // 2])
        half_sent.set()
        time.sleep(0.5)
        right.sendall(raw[len(raw) // 2 :])
        second, _ = read()
        right.sendall(pack({"kind": "reply", "id": second["id"], "ok": True, "value": "two"}, []))

    examiner = socket_conversation(left, lambda h, b: ({}, []), 1 << 20)
    thread = threading.Thread(target=learner_side, daemon=True)
    thread.start()

    def interrupt(*_):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.25)  # fires while half of the reply has arrived
        with pytest.raises(KeyboardInterrupt):
            examiner.request({"op": "get", "name": "slow"}, [])
        assert half_sent.is_set()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    reply, _ = examiner.request({"op": "get", "name": "fast"}, [])
    assert reply["value"] == "two", "the late reply to the interrupted call was taken as this one's"
    thread.join(5)
    left.close()
    right.close()
