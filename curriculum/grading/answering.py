"""The learner's side of the examiner's channel: look up names, call functions, answer with data.

This module runs **inside the learner's kernel**, where the learner's code can change anything,
so nothing here is trusted: it only computes. The examiner (:mod:`curriculum.exam`) sends plain
data in, gets plain data (or references) back, and decides the verdict in its own process.

Under ``mlsd grade`` / ``mlsd check`` the grader starts :func:`serve` in the learner's kernel
before each test cell; the examiner's requests arrive over a Unix socket. When a notebook runs on
its own (Validate, papermill, plain ``nbgrader autograde``), :mod:`curriculum.exam` talks to an
:class:`Answerer` in the same process through :func:`curriculum.grading.wire.loopback`.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import itertools
import socket
import sys
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from curriculum.grading.wire import (
    ConversationClosed,
    WireError,
    decode,
    encode,
    send_message,
    socket_conversation,
)

#: most warnings one call reports back to the test
MAX_WARNINGS = 5

#: a frame, series or array with more values than this is the notebook's *data*: withheld while
#: the examiner's ``data_withheld`` block runs (a small constant table, e.g. 24 hourly weights,
#: stays)
DATA_VALUES = 200


def user_namespace() -> dict:
    """The notebook's global names: IPython's user namespace, or ``__main__``'s."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython comes with every kernel
        shell = None
    if shell is not None:
        return shell.user_ns
    return vars(sys.modules["__main__"])


def qualified_name(obj: Any) -> str:
    """``module.Class`` of an object's type, for messages."""
    kind = type(obj)
    module = getattr(kind, "__module__", "") or ""
    name = getattr(kind, "__qualname__", kind.__name__)
    return name if module in ("builtins", "__main__") else f"{module}.{name}"


def error_payload(exc: BaseException) -> dict:
    """What the examiner learns of an exception raised by the learner's code."""
    nearest = next(
        (
            k.__name__
            for k in type(exc).__mro__
            if getattr(builtins, k.__name__, None) is k and issubclass(k, Exception)
        ),
        "",
    )
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    where = ""
    if frames:
        last = frames[-1]
        where = f"in {last.name}, line {last.lineno}"
    return {
        "type": type(exc).__name__,
        "builtin": nearest,
        "message": str(exc)[:2000],
        "where": where,
    }


class _Sink(io.TextIOBase):
    """Swallows what the learner's code prints while the examiner's calls run."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


class WithheldDataError(LookupError):
    """The learner's code used the notebook's data while the grader had withheld it."""


def _is_data(value: Any) -> bool:
    """Say whether `value` is a data set: a frame, series or array of more than a few values."""
    kinds = tuple(
        kind
        for module, names in (("pandas", ("DataFrame", "Series")), ("numpy", ("ndarray",)))
        if module in sys.modules
        for kind in (getattr(sys.modules[module], name) for name in names)
    )
    return isinstance(value, kinds) and int(value.size) > DATA_VALUES


class _Withheld:
    """Stands in for one of the notebook's data sets: any use of it raises WithheldDataError."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def _refuse(self, *_: Any, **__: Any) -> Any:
        name = object.__getattribute__(self, "_name")
        raise WithheldDataError(
            f"your code used the notebook's `{name}` while the grader ran it on other data: a "
            "model (and every table inside it) must learn only from the data it is passed — the "
            f"notebook's `{name}` covers other dates, including the ones being predicted"
        )

    def __getattr__(self, _: str) -> Any:
        return self._refuse()

    def __repr__(self) -> str:
        return f"<the notebook's {object.__getattribute__(self, '_name')}: withheld>"


for _dunder in (
    "__getitem__ __setitem__ __delitem__ __len__ __iter__ __contains__ __bool__ __array__ "
    "__eq__ __ne__ __lt__ __le__ __gt__ __ge__ __add__ __radd__ __sub__ __rsub__ __mul__ "
    "__rmul__ __truediv__ __rtruediv__ __and__ __or__ __invert__ __neg__ __float__ __int__ "
    "__index__ __setattr__ __copy__ __deepcopy__ __reduce__ __reduce_ex__ __dataframe__"
).split():
    setattr(_Withheld, _dunder, _Withheld._refuse)
_Withheld.__hash__ = object.__hash__


class _Callback:
    """The examiner's function, handed to the learner's code: calling it asks the examiner."""

    def __init__(self, answerer: Answerer, number: int) -> None:
        self._answerer, self._number = answerer, number

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        conversation = self._answerer.conversation
        if conversation is None:
            raise RuntimeError("the grader's function can only be called while its test runs")
        structure, buffers = encode([list(args), kwargs], self._answerer.refer)
        reply, data = conversation.request(
            {"op": "callback", "callback": self._number, "args": structure}, buffers
        )
        if not reply.get("ok"):
            error = reply.get("error") if type(reply.get("error")) is dict else {}
            raise RuntimeError(f"the grader's function failed: {error.get('message', '')}")
        return decode(reply.get("value"), data, self._answerer.special)

    def __repr__(self) -> str:
        return f"<the grader's function #{self._number}>"


class Answerer:
    """Answers the examiner's requests from the notebook's names.

    Requests: ``get`` a name, ``call`` a referenced object with arguments, ``getattr`` of a
    referenced object, ``withhold`` / ``restore`` the notebook's data sets. Data is answered as
    data; anything else is kept here and answered with a reference the examiner can call.

    Parameters
    ----------
    namespace : callable
        Returns the notebook's names (IPython's user namespace).
    quiet : bool
        Swallow what the learner's code prints during a call (grading), or let it show
        (a learner running the test cells themselves).
    """

    def __init__(self, namespace: Callable[[], dict] = user_namespace, *, quiet: bool) -> None:
        self._namespace = namespace
        self._objects: dict[int, Any] = {}
        self._ids = itertools.count(1)
        self.quiet = quiet
        self.conversation: Any = None
        self._withheld: dict[str, Any] = {}

    # references both ways
    def refer(self, obj: Any) -> dict:
        """Keep `obj` here and return its reference."""
        number = next(self._ids)
        self._objects[number] = obj
        return {"$": "ref", "id": number, "type": qualified_name(obj)}

    def special(self, tag: dict) -> Any:
        """A reference from the examiner: one of our objects, or one of its functions."""
        number = tag.get("id")
        if tag.get("$") == "callback" and type(number) is int:
            return _Callback(self, number)
        if tag.get("$") == "ref" and number in self._objects:
            return self._objects[number]
        raise WireError("unknown reference")

    # requests
    def handle(self, header: dict, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        """Answer one request; the learner's exceptions become an error reply."""
        caught: list[warnings.WarningMessage] = []
        try:
            with self._calm(caught):
                value = self._perform(header, buffers)
            structure, out = encode(value, self.refer)
        except (KeyboardInterrupt, ConversationClosed):
            raise
        except BaseException as exc:  # the learner's code failed: the examiner decides
            return {"ok": False, "error": error_payload(exc)}, []
        return {"ok": True, "value": structure, "warnings": _summaries(caught)}, out

    # the notebook's data, withheld while the examiner asks
    def withhold(self) -> int:
        """Replace the notebook's data sets by stand-ins that refuse every use.

        Withheld: every global whose name does not start with ``_`` (a test's own names do, and
        so do IPython's output caches) and whose value is a pandas frame or series or a NumPy
        array of more than :data:`DATA_VALUES` values. Returns how many are withheld.
        """
        namespace = self._namespace()
        for name, value in list(namespace.items()):
            if not name.startswith("_") and name not in self._withheld and _is_data(value):
                self._withheld[name] = value
                namespace[name] = _Withheld(name)
        return len(self._withheld)

    def restore(self) -> None:
        """Put the withheld data back (a name the learner's code rebound keeps its new value)."""
        namespace = self._namespace()
        for name, value in self._withheld.items():
            if isinstance(namespace.get(name), _Withheld):
                namespace[name] = value
        self._withheld = {}

    def _perform(self, header: dict, buffers: list[bytes]) -> Any:
        op = header.get("op")
        if op == "get":
            name = header.get("name")
            namespace = self._namespace()
            if type(name) is not str or name not in namespace:
                raise NameError(
                    f"name {name!r} is not defined in your notebook: answer the question that "
                    "defines it (or, if you have, run its cell)"
                )
            return self._withheld.get(name, namespace[name])
        if op == "withhold":
            return self.withhold()
        if op == "restore":
            return self.restore()
        target = self._objects.get(header.get("ref"))
        if target is None:
            raise WireError("unknown reference")
        if op == "call":
            args, kwargs = decode(header.get("args"), buffers, self.special)
            if type(args) is not list or type(kwargs) is not dict:
                raise WireError("malformed call")
            return target(*args, **kwargs)
        if op == "getattr":
            name = header.get("name")
            if type(name) is not str or name.startswith("__"):
                raise WireError("malformed attribute")
            return getattr(target, name)
        raise WireError(f"unknown request {op!r}")

    @contextlib.contextmanager
    def _calm(self, caught: list):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            if self.quiet:
                with contextlib.redirect_stdout(_Sink()), contextlib.redirect_stderr(_Sink()):
                    yield
            else:
                yield
        caught.extend(seen)


def _summaries(caught: list) -> list[str]:
    out: list[str] = []
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text not in out:
            out.append(text[:500])
        if len(out) == MAX_WARNINGS:
            break
    return out


#: the kernel's answerer for the whole grading run (its references outlive one test cell)
_ANSWERER: Answerer | None = None


def serve(path: str, token: str, max_bytes: int) -> None:
    """Answer the examiner over the Unix socket at `path` until it is done with this test cell.

    Called by the grader (never by a learner) in the learner's kernel before each test cell.
    """
    global _ANSWERER
    if _ANSWERER is None:
        _ANSWERER = Answerer(quiet=True)
    answerer = _ANSWERER
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        send_message(sock, {"kind": "hello", "token": token}, [])
        answerer.conversation = socket_conversation(sock, answerer.handle, max_bytes)
        answerer.conversation.serve()
    except (ConversationClosed, WireError, OSError, KeyboardInterrupt):
        pass
    finally:
        answerer.restore()  # the examiner may have gone while the data was withheld
        answerer.conversation = None
        sock.close()
