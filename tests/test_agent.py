"""The agent's world: orders, the policy in force, tools that refuse bad input, a scripted model."""

from __future__ import annotations

import json

import pytest

from curriculum.agent import (
    MODEL_MODES,
    RUNAWAY_STEPS,
    action_tokens,
    calculator,
    days_left,
    in_force,
    make_orders,
    make_tools,
    render,
    return_tasks,
    scripted_model,
)
from curriculum.assistant import count_tokens
from curriculum.datasets import injected_passages, make_help_center
from curriculum.errors import CourseError


@pytest.fixture(scope="module")
def world():
    center = make_help_center(25, n_questions=20, random_state=3)
    orders = make_orders(center, 40, random_state=4)
    return center, orders, make_tools(center, orders)


def run(model, task, tools, max_steps=10):
    transcript = []
    for _ in range(max_steps):
        action = model(task, transcript)
        if "answer" in action:
            return action["answer"], transcript
        try:
            out = tools[action["tool"]](**action["args"])
            text = json.dumps(out) if isinstance(out, dict) else str(out)
        except Exception as error:
            text = f"error: {error}"
        transcript.append({"action": action, "observation": text})
    return None, transcript


def test_the_policy_in_force_is_the_newest_and_never_a_planted_note(world):
    center, _, _ = world
    rules = in_force(center)
    planted = set(center.passages.loc[injected_passages(center), "text"])
    assert not set(rules["text"]) & planted
    assert rules["value"].notna().all() and not rules.duplicated(["product", "policy"]).any()
    newest = center.passages[center.passages["kind"] == "policy"].groupby(
        ["product", "policy"])["effective"].max()
    chosen = center.passages.set_index("text").loc[rules["text"], "effective"].to_numpy()
    keys = list(zip(rules["product"], rules["policy"], strict=True))
    assert (chosen == newest.loc[keys].to_numpy()).all()


def test_the_planner_answers_every_task_and_the_looping_model_never_does(world):
    center, orders, tools = world
    truth = days_left(center, orders)
    assert (truth >= 0).all() and (truth == 0).any() and (truth > 0).any()
    for order, task in zip(orders["order_id"], return_tasks(orders)["task"], strict=True):
        assert run(scripted_model("planner"), task, tools)[0] == truth[order]
        answer, transcript = run(scripted_model("confused"), task, tools)
        assert answer == truth[order]
        assert transcript[0]["observation"].startswith("error") and transcript[1][
            "observation"].startswith("error")
    answer, transcript = run(scripted_model("looping"), return_tasks(orders)["task"][0], tools)
    assert answer is None and len(transcript) == 10


def test_a_loop_without_a_budget_is_stopped_with_a_clear_error(world):
    _, orders, tools = world
    task = return_tasks(orders)["task"][0]
    answer, transcript = run(scripted_model("looping"), task, tools, max_steps=RUNAWAY_STEPS)
    assert answer is None and len(transcript) == RUNAWAY_STEPS  # every step up to the limit runs
    with pytest.raises(CourseError, match="no\\s+step budget"):
        run(scripted_model("looping"), task, tools, max_steps=RUNAWAY_STEPS + 1)


def test_tools_refuse_what_they_cannot_do(world):
    _, orders, tools = world
    with pytest.raises(KeyError, match="no order"):
        tools["order_lookup"](1)
    with pytest.raises(ValueError):
        tools["order_lookup"]("my order")
    with pytest.raises(KeyError, match="no return policy"):
        tools["policy"]("Nothing", "return")
    assert calculator("max(0, 30 - 45)") == 0 and calculator("(2 + 3) * 4 / 2") == 10
    for bad in ("__import__('os').system('true')", "open('x')", "2 **", "a + 1", "max(x=1)"):
        with pytest.raises(ValueError):
            calculator(bad)


def test_tokens_follow_the_transcript_and_models_are_deterministic(world):
    _, orders, _ = world
    task = return_tasks(orders)["task"][0]
    short = render(task, [])
    longer = render(task, [{"action": {"tool": "policy", "args": {}}, "observation": "x" * 400}])
    assert count_tokens(longer) >= count_tokens(short) + 100
    assert action_tokens({"answer": 3}) == count_tokens('{"answer": 3}')
    for mode in MODEL_MODES:
        assert scripted_model(mode)(task, []) == scripted_model(mode)(task, [])
    with pytest.raises(ValueError, match="mode"):
        scripted_model("sleepy")
