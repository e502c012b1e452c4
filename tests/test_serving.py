"""Serving an app on loopback for a block: replies, malformed bodies, and a server that stops."""

from __future__ import annotations

import socket

from fastapi import FastAPI
from pydantic import BaseModel, Field

from curriculum.serving import latency_percentiles, post_json, score_requests, serving


class Body(BaseModel):
    x: float = Field(gt=0)


def app() -> FastAPI:
    api = FastAPI()

    @api.post("/score")
    def score(body: Body):
        return {"double": 2 * body.x}

    return api


def test_serving_answers_then_stops():
    with serving(app()) as url:
        assert url.startswith("http://127.0.0.1:")
        replies = post_json(f"{url}/score", [{"x": 2.5}, {"x": -1}, "not json"])
        port = int(url.rsplit(":", 1)[1])
    assert [r["status"] for r in replies] == [200, 422, 422]
    assert replies[0]["body"] == {"double": 5.0}
    assert all(r["ms"] > 0 for r in replies)
    with socket.socket() as probe:  # nothing listens once the block has ended
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert set(latency_percentiles(replies)) == {"p50", "p99"}


def test_score_requests_serves_posts_and_stops():
    replies = score_requests(app(), [{"x": 1}, {}])
    assert [r["status"] for r in replies] == [200, 422]


def test_a_dropped_connection_is_a_status_0():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    replies = post_json(f"http://127.0.0.1:{port}/score", [{"x": 1}], timeout=2)
    assert replies[0]["status"] == 0 and "Error" in replies[0]["body"]
