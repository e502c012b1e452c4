"""A support agent's world, offline: orders, tools, and a scripted stand-in for the model.

Day 7's agent answers "how many days do I have left to return order 1042?" with tools — look up
the order, read the policy in force, compute — the way a tool-using LLM does in a loop (ReAct:
Yao et al., ICLR 2023): the model proposes an action, the harness runs the tool and feeds the
observation back, until the model answers or a budget runs out. No model is downloaded:
:func:`scripted_model` plays the model's part and can misbehave as models do (loop without
end, call a tool that does not exist, pass bad arguments), so the harness the learner writes
meets each failure. Tokens follow :func:`curriculum.assistant.count_tokens`; every step re-reads
the whole transcript, which is why an agent's cost grows faster than its number of steps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from curriculum.assistant import AMOUNT, count_tokens
from curriculum.datasets.help_center import HelpCenter
from curriculum.design.estimates import arithmetic
from curriculum.errors import CourseError

#: what the model is told before the task (counted in every prompt)
SYSTEM = (
    "You are the shop's support agent. Tools: order_lookup(order_id) -> the order; "
    "policy(product, policy) -> the policy in force; calculator(expression) -> a number. "
    'Reply with one JSON action per turn: {"tool": name, "args": {...}} or {"answer": value}.'
)
MODEL_MODES = ("planner", "looping", "confused")
#: steps after which the scripted model refuses to go on: a loop without a step budget would
#: otherwise never end (a hosted model would keep billing it)
RUNAWAY_STEPS = 100
_ORDER = re.compile(r"order (\d+)")


def make_orders(center: HelpCenter, n_orders: int = 200, *,
                random_state: int | np.random.Generator | None = None) -> pd.DataFrame:
    """Orders of the help center's products, delivered 0-120 days before the task.

    Returns
    -------
    DataFrame
        ``order_id`` (int, from 1000), ``product``, ``days_ago`` (days since delivery) and
        ``price`` (dollars).
    """
    rng = np.random.default_rng(random_state)
    products = np.sort(center.passages["product"].unique())
    return pd.DataFrame({
        "order_id": np.arange(1000, 1000 + n_orders),
        "product": rng.choice(products, n_orders),
        "days_ago": rng.integers(0, 121, n_orders),
        "price": np.round(rng.uniform(10, 500, n_orders), 2),
    })


def in_force(center: HelpCenter) -> pd.DataFrame:
    """The value of each (product, policy) in force: the newest policy passage's."""
    policy = center.passages[center.passages["kind"] == "policy"]
    newest = policy.sort_values("effective").groupby(["product", "policy"]).tail(1)
    value = newest["text"].str.extract(AMOUNT.pattern, expand=False)
    return newest.assign(value=value)[["product", "policy", "value", "text"]].reset_index(drop=True)


def return_tasks(orders: pd.DataFrame) -> pd.DataFrame:
    """One task per order: the days left to return it; ``task`` is what the customer writes."""
    return pd.DataFrame({
        "order_id": orders["order_id"].to_numpy(),
        "task": [f"How many days do I have left to return order {o}?" for o in orders["order_id"]],
    })


def days_left(center: HelpCenter, orders: pd.DataFrame) -> pd.Series:
    """The answer key of :func:`return_tasks`: window in force minus days since delivery, >= 0."""
    window = in_force(center)
    window = window[window["policy"] == "return"].set_index("product")["value"]
    days = window.str.extract(r"(\d+)", expand=False).astype(int)
    left = (days.reindex(orders["product"]).to_numpy() - orders["days_ago"].to_numpy()).clip(0)
    return pd.Series(left, index=orders["order_id"].to_numpy(), name="days_left")


def calculator(expression: str) -> float:
    """Evaluate arithmetic (numbers, + - * / **, parentheses, max, min) without ``eval``.

    Raises
    ------
    ValueError
        For anything else (names, attributes, calls other than max/min).
    """
    return arithmetic(expression)


def make_tools(center: HelpCenter, orders: pd.DataFrame) -> dict[str, Callable]:
    """The agent's three tools: ``order_lookup``, ``policy`` and ``calculator``.

    ``order_lookup(order_id)`` returns ``{"order_id", "product", "days_ago", "price"}`` and
    raises ``KeyError`` for an unknown order; ``policy(product, policy)`` returns the sentence of
    the policy in force and raises ``KeyError`` when there is none.
    """
    by_id = orders.set_index("order_id")
    rules = in_force(center).set_index(["product", "policy"])["text"]

    def order_lookup(order_id):
        row = by_id.loc[int(order_id)] if int(order_id) in by_id.index else None
        if row is None:
            raise KeyError(f"no order {order_id}")
        return {"order_id": int(order_id), "product": str(row["product"]),
                "days_ago": int(row["days_ago"]), "price": float(row["price"])}

    def policy(product, policy):
        if (product, policy) not in rules.index:
            raise KeyError(f"no {policy} policy for {product!r}")
        return str(rules.loc[(product, policy)]).split(". ")[0].split(": ", 1)[-1] + "."

    return {"order_lookup": order_lookup, "policy": policy, "calculator": calculator}


def render(task: str, transcript: list[dict]) -> str:
    """What the model reads at a step: the instructions, the task, every action and observation."""
    lines = [SYSTEM, f"Task: {task}"]
    for turn in transcript:
        lines.append(f"Action: {json.dumps(turn['action'], sort_keys=True)}")
        lines.append(f"Observation: {turn['observation']}")
    return "\n".join(lines)


def action_tokens(action: dict) -> int:
    """Output tokens of one action (its JSON)."""
    return count_tokens(json.dumps(action, sort_keys=True))


def scripted_model(mode: str = "planner") -> Callable[[str, list], dict]:
    """A stand-in for the model: ``model(task, transcript) -> action``.

    Parameters
    ----------
    mode : str
        ``"planner"``: looks up the order, reads the return policy, computes, answers;
        ``"looping"``: reads the policy again and again and never answers;
        ``"confused"``: first calls a tool that does not exist and passes a bad order id, then
        plans like ``"planner"`` from the errors it is shown.

    Returns
    -------
    callable
        Deterministic: the same task and transcript give the same action. It raises
        :class:`~curriculum.errors.CourseError` when called with a transcript of
        :data:`RUNAWAY_STEPS` steps: the loop calling it has no step budget.
    """
    if mode not in MODEL_MODES:
        raise ValueError(f"mode must be one of {', '.join(MODEL_MODES)}, got {mode!r}")

    def model(task: str, transcript: list) -> dict:
        if len(transcript) >= RUNAWAY_STEPS:
            raise CourseError(
                f"the model was called after {len(transcript)} steps of one task: the loop has no "
                "step budget and would never end (a hosted model would bill every step); stop "
                "after max_steps model calls"
            )
        seen = [t["action"].get("tool") for t in transcript]
        order = _ORDER.search(str(task))
        if mode == "confused" and "weather" not in seen:
            return {"tool": "weather", "args": {"city": "Lyon"}}
        if mode == "confused" and seen.count("order_lookup") == 0 and seen[-1:] == ["weather"]:
            return {"tool": "order_lookup", "args": {"order_id": "my order"}}
        found = [t for t in transcript if t["action"].get("tool") == "order_lookup"
                 and str(t["observation"]).startswith("{")]
        if not found:
            return {"tool": "order_lookup", "args": {"order_id": int(order.group(1))}}
        facts = json.loads(found[-1]["observation"])
        rules = [t for t in transcript if t["action"].get("tool") == "policy"]
        if not rules or mode == "looping":
            return {"tool": "policy", "args": {"product": facts["product"], "policy": "return"}}
        window = re.search(r"(\d+) days", str(rules[-1]["observation"]))
        sums = [t for t in transcript if t["action"].get("tool") == "calculator"]
        if not sums:
            expression = f"max(0, {int(window.group(1))} - {facts['days_ago']})"
            return {"tool": "calculator", "args": {"expression": expression}}
        return {"answer": int(float(sums[-1]["observation"]))}

    return model
