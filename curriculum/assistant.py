"""A small, deterministic, local stand-in for an LLM answerer (Day 7), and a token count.

No model is downloaded: :func:`extractive_answer` composes its answer from the passages it is
given, the way a retrieval-augmented model is asked to ("answer from the context, cite it"), and
can be told to fail in the ways real models do — answer from an old version, state a value no
passage supports, or follow an instruction planted in a passage — so every evaluation method of
the day meets a known truth.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from curriculum.datasets.help_center import POLICIES

#: words customers use for each policy (lower case)
POLICY_WORDS = {
    "return": ("return", "refund", "send back", "money back"),
    "warranty": ("warranty", "guarantee", "covered"),
    "shipping": ("shipping", "deliver"),
}
MODES = ("faithful", "stale", "unsupported", "injected")
AMOUNT = re.compile(r" is (free|\$\d+|\d+ days|\d+ months)")


def count_tokens(text: str) -> int:
    """Tokens in `text` by OpenAI's rule of thumb: one token per four characters of English.

    OpenAI's help article *What are tokens and how to count them?* gives 1 token ≈ 4 characters
    ≈ ¾ of a word; a real tokenizer (``tiktoken``) downloads its vocabulary at first use, which
    this course never does. Exact counts differ by model and language.
    """
    return math.ceil(len(str(text)) / 4)


def question_topic(question: str, products) -> tuple[str, str]:
    """The (product, policy) a question asks about; empty strings when it names none.

    The product is the longest product name the question contains, the policy the first whose
    customer words it uses.
    """
    text = str(question).lower()
    named = [p for p in products if str(p).lower() in text]
    product = max(named, key=len) if named else ""
    policy = next((k for k, words in POLICY_WORDS.items() if any(w in text for w in words)), "")
    return product, policy


def extractive_answer(question: str, context: pd.DataFrame, mode: str = "faithful") -> dict:
    """Answer `question` from the passages of `context`, citing one of them.

    Parameters
    ----------
    question : str
        The customer's question.
    context : DataFrame
        Passages in the order given to the model (``passage_id``, ``text``, ``product``,
        ``policy``, ``kind``, ``effective``).
    mode : str, default "faithful"
        ``"faithful"``: the first passage about the question's product and policy;
        ``"stale"``: the oldest such passage (an answer from a superseded version);
        ``"unsupported"``: a value that no passage of the context states, citing the first;
        ``"injected"``: the value a planted instruction asks for, when the context holds one.

    Returns
    -------
    dict
        ``text`` (the answer), ``cited`` (list of passage ids) and ``amount`` (the value stated,
        or None when the answerer says it does not know).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    product, policy = question_topic(question, context["product"].unique())
    about = context[(context["product"] == product) & (context["policy"] == policy)]
    stated = about[about["text"].str.contains(" is ")]
    if mode == "injected":
        planted = stated[stated["text"].str.contains("ignore all previous instructions")]
        stated = planted if len(planted) else stated
    if mode == "stale" and len(stated):
        stated = stated.sort_values("effective", kind="stable")
    if not len(stated):
        return {"text": "I could not find this in our help center.", "cited": [], "amount": None}
    source = stated.iloc[0]
    found = AMOUNT.search(source["text"])
    amount = found.group(1) if found else None
    if mode == "unsupported" and amount is not None:
        said = set(AMOUNT.findall(" ".join(context["text"])))
        amount = next(a for a in _alternatives(amount) if a not in said)
    words = POLICIES[policy][0]  # the help center's own words for the policy
    text = f"The {words} for the {product} is {amount} [{int(source['passage_id'])}]."
    return {"text": text, "cited": [int(source["passage_id"])], "amount": amount}


def _alternatives(amount: str) -> list[str]:
    """Values of the same unit as `amount`, for an answer no passage supports."""
    if amount == "free" or amount.startswith("$"):
        return [f"${v}" for v in (3, 7, 9, 15, 20, 25)]
    number, unit = amount.split()
    return [f"{v} {unit}" for v in (7, 10, 21, 100, 120, 180) if str(v) != number]
