"""Plain data across the trust boundary: the codec and the conversation of the examiner's channel.

Values cross between the learner's kernel and the examiner **as data only**: JSON for structure,
NumPy's ``.npy`` format (``allow_pickle=False``) for arrays, Arrow IPC streams for pandas objects,
and the course's own dataclasses (a design document) as their fields. Nothing is ever unpickled,
and decoding builds objects of exact built-in, NumPy or pandas types, so a value that arrives
cannot carry behaviour of its sender (an ``__eq__`` that always says yes, a float subclass).

An object that is not data (a function, a fitted model) stays where it lives and crosses as a
*reference*; the other side calls it through the conversation. Each side supplies how it turns
such objects into references (``other``) and how it turns references back (``special``).

A message on the wire is ``[8-byte length][4-byte header length][JSON header][buffers]``; the
receiver refuses a message above its size cap **before** reading it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import itertools
import json
import math
import socket
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

#: deepest nesting of containers a value may have
MAX_DEPTH = 64
_LENGTH = struct.Struct(">QI")


class WireError(ValueError):
    """A value cannot be sent as data, or a message is malformed or too large."""


class ConversationClosed(ConnectionError):
    """The other side ended the conversation (or went away)."""


# -- the codec ----------------------------------------------------------------------------------


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def _arrow(frame: Any) -> bytes:
    import pyarrow as pa

    # frames cross without ``attrs``: metadata such as a generator's latent facts (the answer key
    # of an oracle) never reaches the other kernel, whatever the test author passes
    plain = frame.copy(deep=False)
    plain.attrs = {}
    table = pa.Table.from_pandas(plain, preserve_index=True)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_arrow(data: bytes) -> Any:
    import pyarrow as pa

    # pyarrow >= 14.0.1 never unpickles extension types from a stream (CVE-2023-47248)
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all().to_pandas()


def wire_dataclass(cls: type) -> bool:
    """Whether instances of `cls` cross as their fields: the course's own dataclasses only."""
    return (
        dataclasses.is_dataclass(cls)
        and isinstance(cls, type)
        and (cls.__module__ == "curriculum" or cls.__module__.startswith("curriculum."))
    )


def encode(value: Any, other: Callable[[Any], dict] | None = None) -> tuple[Any, list[bytes]]:
    """Turn `value` into a JSON-able structure and binary buffers.

    Parameters
    ----------
    value
        What to send.
    other : callable, optional
        Called for an object that is not data; returns its tagged reference (a dict with a
        ``"$"`` key). Without it such an object raises :class:`WireError`.

    Returns
    -------
    structure, buffers
        The structure refers to buffers by position.
    """
    import pandas as pd

    buffers: list[bytes] = []

    def buffer(data: bytes) -> int:
        buffers.append(data)
        return len(buffers) - 1

    def refer(v: Any) -> dict:
        if other is None:
            raise WireError(f"a {type(v).__module__}.{type(v).__qualname__} cannot be sent as data")
        return other(v)

    def frame(kind: str, data: Any, **extra: Any) -> dict:
        columns = None
        if kind == "frame" and not data.columns.is_unique:
            columns, data = data.columns, data.set_axis(range(data.shape[1]), axis=1)
        payload = {"$": kind, "buf": buffer(_arrow(data)), **extra}
        if columns is not None:
            payload["columns"] = enc(columns, 1)
        return payload

    def enc(v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError(f"the value is nested more than {MAX_DEPTH} levels deep")
        t = type(v)
        if v is None or t is bool or t is int or t is str:
            return v
        if t is float:
            return v if math.isfinite(v) else {"$": "float", "repr": repr(v)}
        if t is list:
            return [enc(x, depth + 1) for x in v]
        if t is tuple:
            return {"$": "tuple", "items": [enc(x, depth + 1) for x in v]}
        if t is dict:
            items = [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in v.items()]
            return {"$": "dict", "items": items}
        if t is set or t is frozenset:
            return {"$": t.__name__, "items": [enc(x, depth + 1) for x in v]}
        if t is bytes or t is bytearray:
            return {"$": t.__name__, "buf": buffer(bytes(v))}
        if t is complex:
            return {"$": "complex", "re": enc(v.real, depth), "im": enc(v.imag, depth)}
        if isinstance(v, np.ndarray):
            v = np.asarray(v)  # subclasses (matrix, masked...) cross as plain arrays
            if v.dtype.hasobject:
                flat = [enc(x, depth + 1) for x in v.ravel().tolist()]
                return {"$": "objarray", "shape": list(v.shape), "items": flat}
            return {"$": "npy", "buf": buffer(_npy(v))}
        if isinstance(v, np.generic):
            if isinstance(v, np.object_):
                return refer(v)
            return {"$": "npscalar", "buf": buffer(_npy(np.asarray(v)))}
        if v is pd.NaT:
            return {"$": "nat"}
        if v is pd.NA:
            return {"$": "na"}
        try:
            if isinstance(v, pd.DataFrame):
                return frame("frame", pd.DataFrame(v))
            if isinstance(v, pd.Series):
                data = pd.Series(v).to_frame(name="series")
                return frame("series", data, name=enc(v.name, depth + 1))
            if isinstance(v, pd.Index):
                return frame("index", pd.DataFrame(index=v))
            if isinstance(v, pd.Categorical):
                return frame("categorical", pd.DataFrame({"values": v}))
        except WireError:
            raise
        except Exception:  # Arrow cannot hold it (mixed-type object columns...)
            return refer(v)
        if isinstance(v, pd.Timestamp):
            return {"$": "timestamp", "value": int(v.value), "tz": _tz_name(v), "unit": v.unit}
        if isinstance(v, pd.Timedelta):
            return {"$": "timedelta", "value": int(v.value), "unit": v.unit}
        if t is dt.datetime:
            return {"$": "datetime", "iso": v.isoformat()}
        if t is dt.date:
            return {"$": "date", "iso": v.isoformat()}
        if t is dt.time:
            return {"$": "time", "iso": v.isoformat()}
        if t is dt.timedelta:
            return {"$": "pytimedelta", "parts": [v.days, v.seconds, v.microseconds]}
        if wire_dataclass(t):
            fields = {f.name: enc(getattr(v, f.name), depth + 1) for f in dataclasses.fields(v)}
            return {"$": "dataclass", "type": f"{t.__module__}:{t.__qualname__}", "fields": fields}
        return refer(v)

    return enc(value, 0), buffers


def _tz_name(stamp: Any) -> str | None:
    if stamp.tz is None:
        return None
    name = str(stamp.tz)
    import pandas as pd

    try:
        pd.Timestamp(0, tz=name)
    except Exception:
        raise WireError(f"a timestamp in time zone {name!r} cannot be sent as data") from None
    return name


def _dataclass_type(name: Any) -> type:
    import importlib

    if not isinstance(name, str) or ":" not in name:
        raise WireError(f"malformed dataclass type {name!r}")
    module, _, qualname = name.partition(":")
    if not (module == "curriculum" or module.startswith("curriculum.")):
        raise WireError(f"{name} is not one of the course's data types")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise WireError(f"{name} is not one of the course's data types") from None
    if not wire_dataclass(obj):
        raise WireError(f"{name} is not one of the course's data types")
    return obj


def decode(
    structure: Any, buffers: list[bytes], special: Callable[[dict], Any] | None = None
) -> Any:
    """Rebuild a value from :func:`encode`'s output, as objects of exact, known types.

    Parameters
    ----------
    structure, buffers
        What :func:`encode` produced (after a trip over the wire).
    special : callable, optional
        Called for a tagged reference (``"ref"`` or ``"callback"``); returns what stands for it.

    Raises
    ------
    WireError
        For anything malformed: an unknown tag, a missing buffer, a non-course data type.
    """
    import pandas as pd

    def buf(obj: dict) -> bytes:
        index = obj.get("buf")
        if type(index) is not int or not 0 <= index < len(buffers):
            raise WireError("a value refers to a missing buffer")
        return buffers[index]

    def items(obj: dict, depth: int) -> list:
        got = obj.get("items")
        if type(got) is not list:
            raise WireError("malformed container")
        return [dec(x, depth + 1) for x in got]

    def dec(obj: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError(f"the value is nested more than {MAX_DEPTH} levels deep")
        t = type(obj)
        if obj is None or t is bool or t is int or t is str or t is float:
            return obj
        if t is list:
            return [dec(x, depth + 1) for x in obj]
        if t is not dict or type(obj.get("$")) is not str:
            raise WireError("malformed value")
        tag = obj["$"]
        if tag == "float":
            text = obj.get("repr")
            if text not in ("nan", "inf", "-inf"):
                raise WireError("malformed float")
            return float(text)
        if tag == "tuple":
            return tuple(items(obj, depth))
        if tag == "dict":
            pairs = items(obj, depth)
            if not all(type(p) is list and len(p) == 2 for p in pairs):
                raise WireError("malformed dict")
            try:
                return {k: v for k, v in pairs}
            except TypeError:
                raise WireError("a dict key is not hashable") from None
        if tag in ("set", "frozenset"):
            try:
                return (set if tag == "set" else frozenset)(items(obj, depth))
            except TypeError:
                raise WireError("a set item is not hashable") from None
        if tag == "bytes":
            return bytes(buf(obj))
        if tag == "bytearray":
            return bytearray(buf(obj))
        if tag == "complex":
            return complex(_number(dec(obj.get("re"), depth)), _number(dec(obj.get("im"), depth)))
        if tag in ("npy", "npscalar"):
            try:
                array = np.load(io.BytesIO(buf(obj)), allow_pickle=False)
            except Exception as exc:
                raise WireError(f"malformed array: {exc}") from None
            if type(array) is not np.ndarray:
                raise WireError("malformed array")
            return array[()] if tag == "npscalar" else array
        if tag == "objarray":
            shape = obj.get("shape")
            if type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape):
                raise WireError("malformed array shape")
            values = items(obj, depth)
            if math.prod(shape) != len(values):
                raise WireError("malformed object array")
            array = np.empty(len(values), dtype=object)
            array[:] = values if values else []
            return array.reshape(shape)
        if tag == "nat":
            return pd.NaT
        if tag == "na":
            return pd.NA
        if tag in ("frame", "series", "index", "categorical"):
            try:
                data = _from_arrow(buf(obj))
            except Exception as exc:
                raise WireError(f"malformed table: {type(exc).__name__}: {exc}") from None
            if type(data) is not pd.DataFrame:
                raise WireError("malformed table")
            if tag == "frame":
                if "columns" in obj:
                    columns = dec(obj["columns"], depth + 1)
                    if not isinstance(columns, pd.Index) or len(columns) != data.shape[1]:
                        raise WireError("malformed frame columns")
                    data.columns = columns
                return data
            if tag == "index":
                return data.index
            if data.shape[1] != 1:
                raise WireError("malformed series")
            column = data.iloc[:, 0]
            if tag == "categorical":
                if not isinstance(column.dtype, pd.CategoricalDtype):
                    raise WireError("malformed categorical")
                return pd.Categorical(column)
            return column.rename(dec(obj.get("name"), depth + 1))
        if tag == "timestamp":
            value, tz, unit = obj.get("value"), obj.get("tz"), obj.get("unit", "ns")
            if type(value) is not int or (tz is not None and type(tz) is not str):
                raise WireError("malformed timestamp")
            try:
                return (
                    pd.Timestamp(value, tz="UTC").tz_convert(tz).as_unit(unit)
                    if tz
                    else (pd.Timestamp(value).as_unit(unit))
                )
            except Exception as exc:
                raise WireError(f"malformed timestamp: {exc}") from None
        if tag == "timedelta":
            value, unit = obj.get("value"), obj.get("unit", "ns")
            if type(value) is not int:
                raise WireError("malformed timedelta")
            try:
                return pd.Timedelta(value).as_unit(unit)
            except Exception as exc:
                raise WireError(f"malformed timedelta: {exc}") from None
        if tag in ("datetime", "date", "time"):
            text = obj.get("iso")
            kind = {"datetime": dt.datetime, "date": dt.date, "time": dt.time}[tag]
            try:
                return kind.fromisoformat(text)
            except (TypeError, ValueError):
                raise WireError(f"malformed {tag}") from None
        if tag == "pytimedelta":
            parts = obj.get("parts")
            if type(parts) is not list or len(parts) != 3 or not all(type(p) is int for p in parts):
                raise WireError("malformed timedelta")
            try:
                return dt.timedelta(days=parts[0], seconds=parts[1], microseconds=parts[2])
            except OverflowError:
                raise WireError("malformed timedelta") from None
        if tag == "dataclass":
            cls = _dataclass_type(obj.get("type"))
            fields = obj.get("fields")
            names = [f.name for f in dataclasses.fields(cls)]
            if type(fields) is not dict or sorted(fields) != sorted(names):
                raise WireError(f"malformed {cls.__name__}: its fields are {', '.join(names)}")
            instance = object.__new__(cls)
            for name in names:  # the examiner's own class, holding the learner's field values
                object.__setattr__(instance, name, dec(fields[name], depth + 1))
            return instance
        if tag in ("ref", "callback") and special is not None:
            return special(obj)
        raise WireError(f"unknown value tag {tag!r}")

    return dec(structure, 0)


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise WireError("malformed complex number")
    return value


# -- messages over a stream socket -------------------------------------------------------------


def pack(header: dict, buffers: list[bytes]) -> bytes:
    """One message: lengths, the JSON header (with the buffer sizes) and the buffers."""
    header = {**header, "sizes": [len(b) for b in buffers]}
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    body = sum(len(b) for b in buffers)
    return b"".join([_LENGTH.pack(len(text) + body, len(text)), text, *buffers])


def unpack(header_bytes: bytes, body: bytes | memoryview) -> tuple[dict, list[bytes]]:
    """Parse a message's header and cut its buffers (see :func:`pack`)."""
    try:
        header = json.loads(bytes(header_bytes).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise WireError("malformed message header") from None
    sizes = header.get("sizes") if type(header) is dict else None
    if type(sizes) is not list or not all(type(n) is int and n >= 0 for n in sizes):
        raise WireError("malformed message header")
    if sum(sizes) != len(body):
        raise WireError("message length does not match its buffers")
    buffers, start = [], 0
    for n in sizes:
        buffers.append(bytes(body[start : start + n]))
        start += n
    return header, buffers


def send_message(sock: socket.socket, header: dict, buffers: list[bytes]) -> None:
    """Send one message on a connected stream socket."""
    try:
        sock.sendall(pack(header, buffers))
    except (BrokenPipeError, ConnectionResetError, OSError) as exc:
        if isinstance(exc, TimeoutError | InterruptedError):
            raise
        raise ConversationClosed(f"the other side went away ({exc})") from None


def recv_message(sock: socket.socket, max_bytes: int) -> tuple[dict, list[bytes]]:
    """Receive one message, refusing it before reading if it is larger than `max_bytes`."""
    return MessageReader(sock, max_bytes)()


class MessageReader:
    """Reads whole messages from a stream socket; an interrupted read loses nothing.

    Bytes read before an interruption (``KeyboardInterrupt`` when a cell times out, a socket
    timeout) stay in the reader, so the next call finishes the message that was cut instead of
    reading its middle as the start of a new one.
    """

    def __init__(self, sock: socket.socket, max_bytes: int) -> None:
        self.sock, self.max_bytes = sock, max_bytes
        self._buffer = bytearray()

    def _fill(self, n: int) -> None:
        while len(self._buffer) < n:
            chunk = bytearray(min(n - len(self._buffer), 1 << 20))
            try:
                got = self.sock.recv_into(chunk)
            except (ConnectionResetError, OSError) as exc:
                if isinstance(exc, TimeoutError | InterruptedError):
                    raise
                raise ConversationClosed(f"the connection is closed ({exc})") from None
            if not got:
                raise ConversationClosed("the other side closed the connection")
            self._buffer += chunk[:got]

    def __call__(self) -> tuple[dict, list[bytes]]:
        """The next whole message (header, buffers)."""
        self._fill(_LENGTH.size)
        total, head = _LENGTH.unpack(bytes(self._buffer[: _LENGTH.size]))
        if total > self.max_bytes:
            self.sock.close()  # the rest is never read: this stream is over
            raise WireError(
                f"a reply of {total / 2**20:.1f} MB is larger than the "
                f"{self.max_bytes / 2**20:.0f} MB allowed between your notebook and the grader"
            )
        if head > total:
            self.sock.close()
            raise WireError("malformed message lengths")
        self._fill(_LENGTH.size + total)
        data = bytes(self._buffer[_LENGTH.size : _LENGTH.size + total])
        del self._buffer[: _LENGTH.size + total]
        return unpack(memoryview(data)[:head], memoryview(data)[head:])


# -- a conversation: requests that may call back before they are answered ----------------------

Handler = Callable[[dict, list[bytes]], tuple[dict, list[bytes]]]


class Conversation:
    """One side of a request/reply conversation in which either side may ask the other.

    :meth:`request` sends a request and waits for its reply; while it waits, requests from the
    other side (a call back into this side) are answered with `handle`, so calls can nest.

    Parameters
    ----------
    send, receive : callable
        Move one message (header, buffers) to and from the other side.
    handle : callable
        Answers one request of the other side: (header, buffers) → (reply header, buffers).
    """

    def __init__(
        self,
        send: Callable[[dict, list[bytes]], None],
        receive: Callable[[], tuple[dict, list[bytes]]],
        handle: Handler,
    ) -> None:
        self._send, self._receive, self._handle = send, receive, handle
        self._ids = itertools.count(1)

    def request(self, header: dict, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        """Ask the other side; answer its nested requests until the reply comes.

        A reply to an earlier request that was interrupted (a cell stopped while it waited)
        arrives late: it is recognised by its number and dropped, so the conversation stays in
        step.
        """
        number = next(self._ids)
        self._send({**header, "kind": "request", "id": number}, buffers)
        while True:
            message, data = self._receive()
            kind = message.get("kind")
            if kind == "reply" and message.get("id") == number:
                return message, data
            if kind == "reply" and type(message.get("id")) is int and message["id"] < number:
                continue  # the late answer to an interrupted request
            if kind == "request":
                self._answer(message, data)
            elif kind == "done":
                raise ConversationClosed("the other side ended the conversation")
            else:
                raise WireError(f"unexpected message {kind!r} while waiting for a reply")

    def serve(self) -> None:
        """Answer the other side's requests until it says it is done."""
        while True:
            message, data = self._receive()
            kind = message.get("kind")
            if kind == "done":
                return
            if kind != "request":
                raise WireError(f"unexpected message {kind!r}")
            self._answer(message, data)

    def done(self) -> None:
        """Tell the other side the conversation is over."""
        self._send({"kind": "done"}, [])

    def _answer(self, message: dict, data: list[bytes]) -> None:
        reply, buffers = self._handle(message, data)
        self._send({**reply, "kind": "reply", "id": message.get("id")}, buffers)


def socket_conversation(sock: socket.socket, handle: Handler, max_bytes: int) -> Conversation:
    """A :class:`Conversation` over a connected stream socket."""
    return Conversation(
        lambda header, buffers: send_message(sock, header, buffers),
        MessageReader(sock, max_bytes),
        handle,
    )


def _roundtrip(header: dict, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
    raw = pack(header, buffers)
    _, head = _LENGTH.unpack(raw[: _LENGTH.size])
    body = memoryview(raw)[_LENGTH.size :]
    return unpack(body[:head], body[head:])


class Loopback:
    """A conversation with a peer in the same process (see :func:`loopback`)."""

    def __init__(self, handle: Handler) -> None:
        self._handle = handle
        self.peer: Loopback | None = None

    def request(self, header: dict, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        """Ask the peer: the request and its reply are packed and unpacked as on the wire."""
        assert self.peer is not None
        message, data = _roundtrip({**header, "kind": "request", "id": 0}, buffers)
        reply, out = self.peer._handle(message, data)
        return _roundtrip({**reply, "kind": "reply", "id": 0}, out)

    def done(self) -> None:
        """Nothing to close in one process."""


def loopback(handle_a: Handler, handle_b: Handler) -> tuple[Loopback, Loopback]:
    """Two conversations in one process, each answered by the other's handler.

    Every message still goes through :func:`pack` and :func:`unpack`, so in-process calls have
    exactly the semantics of calls across the wire (copies of data, references for the rest).
    """
    a, b = Loopback(handle_a), Loopback(handle_b)
    a.peer, b.peer = b, a
    return a, b
