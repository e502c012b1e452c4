"""Tests the learner's code cannot fool: the examiner's side of every test cell.

A test cell reaches the learner's notebook **only** through :data:`student`::

    from curriculum.exam import student

    got = student.abs_error_percentile([1, 2], [1, 4], q=50)   # the learner's function, called
    assert got == 1.0, f"the median of the errors 0 and 2 is 1.0; got {got!r}"

``student.NAME`` is the learner's ``NAME``:

* a **copy** when it is data — ``None``, numbers, strings, bytes, lists, tuples, dicts and sets
  of data, NumPy arrays and scalars, pandas frames, series, indexes and categoricals, timestamps
  and time deltas, and the course's own dataclasses (a ``DesignDocument``);
* otherwise a :class:`Remote` handle (a function, a fitted model): call it, or read an attribute
  — the results are again copies of data or handles. A handle is not data: comparing it or
  testing its truth raises ``TypeError``, so a test can never be fooled by an object whose
  ``__eq__`` always answers yes.

Arguments go to the learner's code as copies and may include your own functions (the learner's
code can call them back). Everything else in the test cell — hidden inputs, expected values,
labels and the comparison — stays with the examiner.

A model graded on a hidden world must learn from the frame the test passes it, not from the
notebook's own data (whose dates include the ones being predicted). Build and call it inside
:func:`data_withheld`: while the block runs, the notebook's data sets (its global frames, series
and arrays) refuse every use with a ``LookupError`` that says so::

    with data_withheld():
        _pred = student.build_model(_train)(_unlabelled)

Tiers of one model are several cells that grade one result. The first computes it once and
keeps it; the others fetch it, and read the reason when it could not be computed::

    with computing("eta_quality_beats_baseline") as _kept:    # in the first tier's cell
        ...
        _kept["closed"] = _closed
    _closed = computed("eta_quality_beats_baseline")["closed"]  # in every later tier's cell

**Where a test cell runs.** When a learner runs it (Validate, ``mlsd run``'s execution, plain
``nbgrader autograde``) it runs in the notebook's own kernel and ``student`` talks to the
notebook in the same process, through a loopback that encodes and decodes every value exactly as
the wire does. Under ``mlsd grade`` and ``mlsd check`` the grader runs the test cell in a
separate, trusted *examiner* kernel: ``student`` then talks over a Unix socket to the learner's
sandboxed kernel (:mod:`curriculum.grading.answering`), which only computes. Whatever the
learner's code patches in its own kernel cannot reach the test's values or its verdict.

**Rules for test authors** (``tests/test_exam_rules.py`` checks them on every notebook):

1. A test cell stands alone: it uses only its own names, the modules and names imported by the
   notebook's read-only cells, builtins, and ``student``. Reading a value the learner's cells
   computed goes through ``student`` (``student.train``), never a bare name. Several cells that
   grade one expensive result (tiers of one model) share it through :func:`computing` and
   :func:`computed`, never through a name another test cell defined.
2. Never send the answer key to the learner's code: predict on features without the label
   columns, compute metrics and tiers in the test.
3. Do not print hidden inputs or expected values except in an assertion message meant to teach.
"""

from __future__ import annotations

import builtins
import contextlib
import itertools
import os
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

from curriculum.grading.answering import Answerer
from curriculum.grading.wire import (
    ConversationClosed,
    WireError,
    decode,
    encode,
    loopback,
    recv_message,
    socket_conversation,
)

__all__ = [
    "LearnerError",
    "NotAvailable",
    "Remote",
    "computed",
    "computing",
    "data_withheld",
    "student",
]


class LearnerError(Exception):
    """The learner's code failed in a way that is not one of Python's own exceptions.

    Raised for an exception of the learner's own type that derives from no built-in one, and
    when the learner's kernel stops answering.
    """


def _text(value: Any, limit: int = 2000) -> str:
    return value[:limit] if type(value) is str else ""


class Remote:
    """A handle on an object that lives in the learner's notebook and is not data.

    Call it (``model(frame)``) or read an attribute (``model.predict``); results come back as
    copies of data or as handles. Anything else — ``==``, ``bool()``, ``len()``, arithmetic —
    raises ``TypeError``: ask for data instead.
    """

    __slots__ = ("_examiner", "_number", "_type", "_label")

    def __init__(self, examiner: _Examiner, number: int, type_name: str, label: str) -> None:
        self._examiner, self._number, self._type, self._label = (
            examiner,
            number,
            type_name,
            label,
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the learner's object with copies of the arguments."""
        __tracebackhide__ = True  # noqa: F841 (IPython leaves the grader's frames out)
        return self._examiner.call(self, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        __tracebackhide__ = True  # noqa: F841
        if name.startswith("__"):
            raise AttributeError(name)
        return self._examiner.attribute(self, name)

    def __repr__(self) -> str:
        return f"<{self._type} from your notebook: {self._label}>"

    def _not_data(self, *_: Any) -> Any:
        raise TypeError(
            f"{self._label} is a {self._type}, not data (a number, string, list, array or "
            "frame): it cannot be compared or tested for truth"
        )

    __bool__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _not_data
    __hash__ = object.__hash__


class _Examiner:
    """Asks the learner's side for names, calls and attributes; answers its call-backs."""

    def __init__(self) -> None:
        self._callbacks: dict[int, Callable] = {}
        self._ids = itertools.count(1)

    def conversation(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    # what the test does
    def get(self, name: str) -> Any:
        __tracebackhide__ = True  # noqa: F841
        return self._ask({"op": "get", "name": name}, [], name)

    def call(self, remote: Remote, args: tuple, kwargs: dict) -> Any:
        __tracebackhide__ = True  # noqa: F841
        structure, buffers = encode([list(args), dict(kwargs)], self._outgoing)
        header = {"op": "call", "ref": remote._number, "args": structure}
        return self._ask(header, buffers, f"the result of {remote._label}(...)")

    def withhold(self, on: bool) -> Any:
        return self._ask({"op": "withhold" if on else "restore"}, [], "the notebook's data")

    def attribute(self, remote: Remote, name: str) -> Any:
        __tracebackhide__ = True  # noqa: F841
        header = {"op": "getattr", "ref": remote._number, "name": name}
        return self._ask(header, [], f"{remote._label}.{name}")

    def _ask(self, header: dict, buffers: list[bytes], label: str) -> Any:
        __tracebackhide__ = True  # noqa: F841
        try:
            reply, data = self.conversation().request(header, buffers)
        except ConversationClosed:
            raise LearnerError(
                "your notebook's kernel stopped answering (it crashed, exited or was stopped)"
            ) from None
        for warning in (reply.get("warnings") or [])[:5]:
            if type(warning) is str:
                print(f"(your code warned: {warning[:300]})")
        if not reply.get("ok"):
            raise _learner_exception(reply.get("error"))
        return decode(reply.get("value"), data, lambda tag: self._incoming(tag, label))

    # references both ways
    def _incoming(self, tag: dict, label: str) -> Remote:
        number = tag.get("id")
        if tag.get("$") != "ref" or type(number) is not int:
            raise WireError("the learner's side sent something that is neither data nor a handle")
        return Remote(self, number, _text(tag.get("type"), 200) or "object", label)

    def _outgoing(self, obj: Any) -> dict:
        if isinstance(obj, Remote):
            if obj._examiner is not self:
                raise WireError(f"{obj!r} belongs to another notebook")
            return {"$": "ref", "id": obj._number}
        if callable(obj):
            number = next(self._ids)
            self._callbacks[number] = obj
            return {"$": "callback", "id": number}
        raise WireError(
            f"a {type(obj).__qualname__} cannot be passed to the learner's code: pass data "
            "or a function"
        )

    def handle(self, header: dict, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        """The learner's code calls one of the test's functions."""
        function = (
            self._callbacks.get(header.get("callback")) if header.get("op") == "callback" else None
        )
        try:
            if function is None:
                raise WireError("unknown call-back")
            args, kwargs = decode(header.get("args"), buffers, lambda t: self._incoming(t, "arg"))
            if type(args) is not list or type(kwargs) is not dict:
                raise WireError("malformed call-back")
            structure, out = encode(function(*args, **kwargs), self._outgoing)
        except Exception as exc:  # reported to the learner's code as a RuntimeError
            return {"ok": False, "error": {"message": f"{type(exc).__name__}: {exc}"[:2000]}}, []
        return {"ok": True, "value": structure}, out


def _learner_exception(payload: Any) -> Exception:
    """The exception to raise in the test for an error of the learner's code."""
    payload = payload if type(payload) is dict else {}
    kind = getattr(builtins, _text(payload.get("builtin"), 100), None)
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        kind = LearnerError
    name, message = _text(payload.get("type"), 100), _text(payload.get("message"))
    text = message if name == kind.__name__ or not name else f"{name}: {message}"
    where = _text(payload.get("where"), 200)
    if where:
        text += f" ({where} of your code)"
    for candidate in kind.__mro__:
        try:
            return candidate(text)
        except TypeError:  # e.g. UnicodeDecodeError wants five arguments
            continue
    return LearnerError(text)  # pragma: no cover


class _LocalExaminer(_Examiner):
    """The learner's notebook in this very kernel (Validate, papermill, plain nbgrader)."""

    def __init__(self, namespace: Callable[[], dict] | None = None) -> None:
        super().__init__()
        self._answerer = Answerer(namespace, quiet=False) if namespace else Answerer(quiet=False)
        self._mine, theirs = loopback(self.handle, self._answerer.handle)
        self._answerer.conversation = theirs

    def conversation(self) -> Any:
        return self._mine


class _SocketExaminer(_Examiner):
    """The learner's notebook in another, sandboxed kernel that connects to this socket."""

    def __init__(self, path: str, *, max_bytes: int, accept_timeout: float) -> None:
        super().__init__()
        self._path, self._max_bytes, self._accept_timeout = path, max_bytes, accept_timeout
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        os.chmod(path, 0o666)  # the learner's kernel may run as another user in its sandbox
        self._listener.listen(8)
        self._token: str | None = None
        self._gave_up = False
        self._sock: socket.socket | None = None
        self._conversation: Any = None

    def begin(self, token: str) -> None:
        self.end()
        self._token, self._gave_up = token, False

    def conversation(self) -> Any:
        if self._conversation is None:
            if self._token is None:
                raise LearnerError("the examiner is not serving a test cell")
            self._sock = None if self._gave_up else self._accept(self._accept_timeout)
            if self._sock is None:
                self._gave_up = True
                raise LearnerError(
                    "your notebook's kernel did not answer the grader (it crashed, exited or "
                    "was changed so that it cannot answer)"
                )
            self._conversation = socket_conversation(self._sock, self.handle, self._max_bytes)
        return self._conversation

    def _accept(self, timeout: float) -> socket.socket | None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self._listener.settimeout(left)
            try:
                sock, _ = self._listener.accept()
            except (TimeoutError, OSError):
                return None
            sock.settimeout(min(5.0, max(0.1, left)))
            try:
                hello, _ = recv_message(sock, 4096)
            except (OSError, WireError, ConversationClosed):
                sock.close()
                continue
            if hello.get("kind") == "hello" and hello.get("token") == self._token:
                sock.settimeout(None)
                return sock
            sock.close()
        return None

    def end(self) -> None:
        if self._conversation is None and self._token is not None and not self._gave_up:
            self._sock = self._accept(2.0)  # let the waiting kernel go at once
            if self._sock is not None:
                self._conversation = socket_conversation(self._sock, self.handle, self._max_bytes)
        if self._conversation is not None:
            try:
                self._conversation.done()
            except (OSError, ConversationClosed):
                pass
        if self._sock is not None:
            self._sock.close()
        self._sock = self._conversation = self._token = None


_EXAMINER: _Examiner | None = None


def _examiner() -> _Examiner:
    global _EXAMINER
    if _EXAMINER is None:
        _EXAMINER = _LocalExaminer()
    return _EXAMINER


def _examine(path: str, *, max_bytes: int, accept_timeout: float = 30.0) -> None:
    """Make this kernel the examiner, listening at `path` (called by the grader only)."""
    global _EXAMINER
    _EXAMINER = _SocketExaminer(path, max_bytes=max_bytes, accept_timeout=accept_timeout)


def _begin(token: str) -> None:
    """A test cell starts: accept the learner's kernel that presents `token` (grader only)."""
    examiner = _examiner()
    if isinstance(examiner, _SocketExaminer):
        examiner.begin(token)


def _end() -> None:
    """The test cell is over: let the learner's kernel go (grader only)."""
    examiner = _examiner()
    if isinstance(examiner, _SocketExaminer):
        examiner.end()


class NotAvailable(LookupError):
    """A value kept by another test cell (:func:`computing`) is not there, with the reason."""


#: what test cells keep for later ones: key → the values, or why they are not available
_KEPT: dict[str, dict[str, Any] | str] = {}


@contextlib.contextmanager
def computing(key: str) -> Iterator[dict[str, Any]]:
    """Compute, once, values that later test cells fetch with :func:`computed`.

    Name the key after the test cell that computes (its ``grade_id``). Put the values in the
    dictionary the block yields; they are kept when the block ends without an error. If it
    fails or is stopped (a timeout), the reason is kept instead, and every later
    :func:`computed` says it, so a learner reads the cause, never a ``NameError``. The values
    stay with the examiner (under ``mlsd grade``, outside the learner's kernel).

    Parameters
    ----------
    key : str
        The computing test cell's grade id.

    Yields
    ------
    dict
        Fill it with the values to keep.
    """
    values: dict[str, Any] = {}
    _KEPT[key] = f"test cell {key} did not finish"
    try:
        yield values
    except KeyboardInterrupt:
        _KEPT[key] = f"test cell {key} was stopped before it finished (it ran out of time)"
        raise
    except BaseException as exc:
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        _KEPT[key] = f"test cell {key} failed: {type(exc).__name__}" + (
            f": {first}" if first else ""
        )
        raise
    _KEPT[key] = dict(values)


def computed(key: str) -> dict[str, Any]:
    """The values that test cell `key` kept with :func:`computing`.

    Raises
    ------
    NotAvailable
        If that cell has not run, failed or was stopped; the message says which and why.
    """
    kept = _KEPT.get(key)
    if kept is None:
        raise NotAvailable(f"not available: test cell {key} has not run yet (run it first)")
    if isinstance(kept, str):
        raise NotAvailable(f"not available because {kept}")
    return dict(kept)


class _Student:
    """The learner's notebook: ``student.NAME`` is their ``NAME`` (a copy of data, or a handle)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        __tracebackhide__ = True  # noqa: F841
        if name.startswith("__"):
            raise AttributeError(name)
        return _examiner().get(name)

    def __repr__(self) -> str:
        return "<the learner's notebook: student.NAME reads their NAME>"


#: the learner's notebook, as a test cell sees it
student = _Student()


@contextlib.contextmanager
def data_withheld() -> Iterator[int]:
    """Withhold the notebook's data sets from the learner's code while the block runs.

    Every global of the learner's notebook whose name does not start with ``_`` and that holds a
    pandas frame or series or a NumPy array of more than a few hundred values is replaced by a
    stand-in that raises ``LookupError`` on any use, and put back when the block ends (also when
    it fails). Build and call a model graded on hidden data inside it, so a model that fits a
    table on the notebook's ``trips`` instead of the trips it is passed fails with a message
    that says so.

    Yields
    ------
    int
        How many of the notebook's names are withheld.
    """
    examiner = _examiner()
    count = examiner.withhold(True)
    try:
        yield count
    finally:
        examiner.withhold(False)
