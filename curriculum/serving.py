"""Serve a web app on 127.0.0.1 for the length of a block, and call it like a client would.

Day 8 serves its champion model with `FastAPI <https://fastapi.tiangolo.com>`_ under
`uvicorn <https://www.uvicorn.org>`_. :func:`serving` starts the server in a background thread
on a free loopback port (nothing outside the machine can reach it) and stops it when the block
ends, even on an error::

    with serving(app) as url:
        replies = post_json(f"{url}/score", [{"card_id": 7, "amount": 12.5, ...}])
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from curriculum.errors import CourseError


@contextlib.contextmanager
def serving(app: Any, *, timeout: float = 60.0) -> Iterator[str]:
    """Serve an ASGI app (FastAPI) on 127.0.0.1 while the block runs.

    Parameters
    ----------
    app : ASGI application
        E.g. a ``fastapi.FastAPI``.
    timeout : float, default 60
        Seconds to wait for the server to accept connections.

    Yields
    ------
    str
        The base URL, ``http://127.0.0.1:PORT``.

    Raises
    ------
    CourseError
        If the server does not start within `timeout` seconds.
    """
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical",
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # not the main thread's signals
    thread = threading.Thread(target=server.run, name="mlsd-serving", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not server.started:
        server.should_exit = True
        thread.join(timeout=5)
        raise CourseError(f"the app did not start serving on 127.0.0.1 within {timeout:.0f} s")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def post_json(url: str, payloads: Sequence[Any], *, timeout: float = 30.0) -> list[dict]:
    """POST each payload as JSON; return what came back, one dict per request.

    Parameters
    ----------
    url : str
        The endpoint, e.g. ``http://127.0.0.1:8000/score``.
    payloads : sequence
        JSON-able bodies (dicts, or strings sent as they are, to test malformed requests).
    timeout : float, default 30
        Seconds per request.

    Returns
    -------
    list of dict
        ``{"status": int, "body": parsed JSON or text, "ms": float}`` per request; a request
        the server dropped has status 0 and the error as its body.
    """
    import httpx

    out = []
    with httpx.Client(timeout=timeout) as client:
        for payload in payloads:
            content = payload if isinstance(payload, str) else json.dumps(payload)
            start = time.perf_counter()
            try:
                reply = client.post(url, content=content,
                                    headers={"content-type": "application/json"})
            except httpx.HTTPError as error:
                out.append({"status": 0, "body": f"{type(error).__name__}: {error}",
                            "ms": 1e3 * (time.perf_counter() - start)})
                continue
            ms = 1e3 * (time.perf_counter() - start)
            try:
                body = reply.json()
            except ValueError:
                body = reply.text
            out.append({"status": reply.status_code, "body": body, "ms": ms})
    return out


def score_requests(app: Any, payloads: Sequence[Any], *, path: str = "/score") -> list[dict]:
    """Serve `app` on 127.0.0.1, POST every payload to `path`, stop the server; the replies.

    :func:`serving` and :func:`post_json` in one call, for tests: the server is stopped even
    when a request fails.

    Returns
    -------
    list of dict
        As :func:`post_json`.
    """
    with serving(app) as url:
        return post_json(url + path, payloads)


def latency_percentiles(replies: Sequence[dict], percentiles: Sequence[float] = (50, 99)) -> dict:
    """Percentiles of the round-trip milliseconds of :func:`post_json`'s replies.

    Returns
    -------
    dict
        ``{"p50": ms, "p99": ms, ...}``.
    """
    ms = np.array([r["ms"] for r in replies], dtype=float)
    return {f"p{p:g}": float(np.percentile(ms, p)) for p in percentiles}
