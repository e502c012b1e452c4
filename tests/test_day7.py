"""Day 7: plausible wrong answers lose points under real autograding; honest alternatives don't.

Each learner answers like the reference except for the mistakes named in their case (one per
question, chosen not to interact). Wrong: redaction of every digit (amounts and order numbers
lost); injection flags on any "ignore" (a customer's harmless tip blocked); retrieval without the
version in force, or without the injection filter; a context that keeps superseded versions, or
stops at the first passage that does not fit; a judge that only checks that the cited passage
states the amount, or that trusts customers' posts; a KV cache without its keys-and-values factor
2; a cost per question instead of per thousand; estimates whose prompt is the question alone, or
whose KV cache holds one sequence instead of those in flight at the peak; a design judged on
retrieval alone, or with a feature read from a column the help center does not have; an agent loop
without a budget, or one that fails on a tool's error instead of showing it to the model. Honest:
redaction by other patterns, a retriever on BM25 alone plus the question's product and policy,
context assembly in pandas, a judge written as one boolean expression, estimates with math.prod, a
small internal assistant's estimates (another product, its cache in GiB at half an answer), an
agent loop over range(max_steps).
"""

from __future__ import annotations

from curriculum.syllabus import get_day

from .conftest import grade_cases

DAY = get_day("day7")
SPEC = DAY.notebook("assistant.ipynb")

EVERY_DIGIT = (
    '    text = re.sub(r"\\b\\d{4}([ -]?\\d{4}){3}\\b", "[CARD]", text)\n'
    '    return re.sub(r"\\+?\\d{1,3}[ -]\\d{3}[ -]\\d{3}[ -]\\d{4}\\b", "[PHONE]", text)',
    '    return re.sub(r"\\d", "#", text)  # every digit',
)
ANY_IGNORE = (
    "    return bool(override or addressed)",
    '    return bool(override or addressed or "ignore" in text.lower())',
)
NO_IN_FORCE = (
    '    usable = (in_force | ~trusted) & ~docs["text"].map(flag_injection).to_numpy()',
    '    usable = ~docs["text"].map(flag_injection).to_numpy()  # every version',
)
NO_INJECTION_FILTER = (
    '    usable = (in_force | ~trusted) & ~docs["text"].map(flag_injection).to_numpy()',
    "    usable = in_force | ~trusted",
)
KEEPS_SUPERSEDED = (
    "        if is_trusted and row.effective < newest[(row.product, row.policy)]:\n"
    "            continue  # superseded by a newer version among the candidates\n",
    "",
)
STOPS_AT_FIRST_MISFIT = (
    "        if used + cost <= budget:\n"
    "            chosen.append(int(row.passage_id))\n"
    "            used += cost",
    "        if used + cost > budget:\n"
    "            break  # stops at the first passage that does not fit\n"
    "        chosen.append(int(row.passage_id))\n"
    "        used += cost",
)
STATES_IT = (
    '    return bool(source["effective"] == same["effective"].max())  # not a superseded version',
    "    return True  # the cited passage states the amount",
)
TRUSTS_POSTS = (
    (
        '    if source["kind"] not in ("policy", "faq") or flag_injection(source["text"]):\n'
        "        return False\n",
        "",
    ),
    (
        '    same = context[(context["product"] == source["product"]) '
        '& (context["policy"] == source["policy"])\n'
        '                   & context["kind"].isin(["policy", "faq"])]',
        '    same = context[(context["product"] == source["product"])  # posts count too\n'
        '                   & (context["policy"] == source["policy"])]',
    ),
)
NO_FACTOR_2 = (
    "    return 2 * n_layers * n_kv_heads * head_dim * bytes_per_value * n_tokens * batch_size",
    "    return n_layers * n_kv_heads * head_dim * bytes_per_value * n_tokens * batch_size",
)
PER_QUESTION = (
    "    return 1_000 * (prompt_tokens * input_price + output_tokens * output_price) / 1e6",
    "    return (prompt_tokens * input_price + output_tokens * output_price) / 1e6",
)
QUESTION_ALONE = (
    '_prompt = _a["instruction_tokens"] + _a["passages"] * _a["tokens_per_passage"] '
    '+ _a["question_tokens"]',
    '_prompt = _a["question_tokens"]  # the question is the prompt',
)
ONE_SEQUENCE = (
    '"kv_cache_gb": {"value": _in_flight * (_prompt + 80) * _per_token / 1e9,',
    '"kv_cache_gb": {"value": (_prompt + 80) * _per_token / 1e9,  # one sequence',
)
SMALL_ASSISTANT = '''import math

# An internal assistant for 2,000 support agents, on a self-hosted 70B model with an 8-bit KV cache
ASSUMPTIONS = dict(instruction_tokens=1_200, passages=8, tokens_per_passage=250,
                   question_tokens=400, output_tokens=300, input_price=0.15, output_price=0.6,
                   peak_qps=0.5, seconds_per_answer=12, n_layers=80, n_kv_heads=8, head_dim=128,
                   bytes_per_value=1)
a = SimpleNamespace(**ASSUMPTIONS)
prompt = a.instruction_tokens + a.passages * a.tokens_per_passage + a.question_tokens  # 3,600
flight = a.peak_qps * a.seconds_per_answer
per_token = math.prod([2, a.n_layers, a.n_kv_heads, a.head_dim, a.bytes_per_value])
ESTIMATES = {
    "prompt_tokens": {"value": prompt, "assumptions": "1,200 + 8 x 250 + 400 = 3,600 tokens"},
    "cost_per_1k": {"value": (prompt * 0.15 + 300 * 0.6) / 1_000,
                    "assumptions": "(3,600 x $0.15 + 300 x $0.60) / 1M x 1,000 = $0.72"},
    "in_flight": {"value": flight, "assumptions": "0.5 questions/s x 12 s = 6 sequences"},
    # on average half the answer has been generated; in GiB
    "kv_cache_gb": {"value": flight * (prompt + 300 / 2) * per_token / 2**30,
                    "assumptions": "6 x 3,750 tokens x 160 KiB (80 layers, 8 KV heads, 8 bits)"},
}
'''
RETRIEVAL_ONLY = (
    'offline_metrics=["recall_at_k", "answer_correctness", "groundedness", "refusal_rate"]',
    'offline_metrics=["recall_at_k", "mrr"]',
)
OTHER_PATTERNS = (
    '    text = re.sub(r"[\\w.+-]+@[\\w-]+(\\.[\\w-]+)+", "[EMAIL]", str(text))\n'
    '    text = re.sub(r"\\b\\d{4}([ -]?\\d{4}){3}\\b", "[CARD]", text)\n'
    '    return re.sub(r"\\+?\\d{1,3}[ -]\\d{3}[ -]\\d{3}[ -]\\d{4}\\b", "[PHONE]", text)',
    "    patterns = {\n"
    '        "[EMAIL]": r"\\S+@\\S+\\.[a-z]+",\n'
    '        "[CARD]": r"(?:\\d{4} ){3}\\d{4}",\n'
    '        "[PHONE]": r"\\+\\d+ \\d{3} \\d{3} \\d{4}",\n'
    "    }\n"
    "    text = str(text)\n"
    "    for tag, pattern in patterns.items():\n"
    "        text = re.sub(pattern, tag, text)\n"
    "    return text",
)
BM25_AND_TOPIC = (
    "        lex, vec = bm25_search(index, texts, 50), exact_top_k(vectors, embed(texts), 50)",
    "        lex = bm25_search(index, texts, 50)\n"
    "        vec = [[] for _ in texts]  # BM25 alone: the product and policy do the rest",
)
PANDAS_CONTEXT = '''def assemble_context(candidates, budget):
    """Drop repeats and superseded versions, then fill the budget in rank order."""
    c = candidates.drop_duplicates("passage_id")
    trusted = c["kind"].isin(["policy", "faq"])
    latest = c[trusted].groupby(["product", "policy"])["effective"].transform("max")
    c = c[~trusted | (c["effective"] == latest.reindex(c.index))]
    out, used = [], 0
    for pid, tokens in zip(c["passage_id"], c["text"].map(count_tokens)):
        if used + tokens <= budget:
            out.append(int(pid))
            used += tokens
    return out
'''
ONE_EXPRESSION = '''def acceptable(question, answer, context):
    """One expression: cited, policy or FAQ, states the amount, newest of its kind in context."""
    cited = context[context["passage_id"].isin(answer.get("cited") or [])]
    official = context[context["kind"].isin(["policy", "faq"])]
    return bool(
        answer.get("amount") is not None
        and len(cited) > 0
        and cited.iloc[0]["kind"] in ("policy", "faq")
        and f" is {answer['amount']}" in cited.iloc[0]["text"]
        and cited.iloc[0]["effective"] == official.loc[
            (official["product"] == cited.iloc[0]["product"])
            & (official["policy"] == cited.iloc[0]["policy"]), "effective"].max()
    )
'''
NO_BUDGET = (
    "    while steps < max_steps and prompt_tokens + output_tokens < max_tokens:",
    "    while True:  # until the model answers",
)
ERRORS_CRASH = (
    "        try:\n"
    "            result = tools[name](**action.get(\"args\", {}))\n"
    "            observation = json.dumps(result) if isinstance(result, dict) else str(result)\n"
    "        except Exception as error:  # the model reads the error and can recover\n"
    "            observation = f\"error: {type(error).__name__}: {error}\"\n",
    "        result = tools[name](**action.get(\"args\", {}))\n"
    "        observation = json.dumps(result) if isinstance(result, dict) else str(result)\n",
)
FOR_LOOP = '''def run_agent(task, model, tools, max_steps=8, max_tokens=4_000, prices=(1.0, 4.0)):
    """A for loop over the step budget, a dict for the record."""
    transcript = []
    out = {"answer": None, "stopped": "budget", "steps": 0, "tool_calls": [],
           "prompt_tokens": 0, "output_tokens": 0}
    for _ in range(max_steps):
        if out["prompt_tokens"] + out["output_tokens"] >= max_tokens:
            break
        action = model(task, transcript)
        out["steps"] += 1
        out["prompt_tokens"] += count_tokens(render(task, transcript))
        out["output_tokens"] += action_tokens(action)
        if "answer" in action:
            out.update(answer=action["answer"], stopped="answer")
            break
        out["tool_calls"].append(action["tool"])
        tool = tools.get(action["tool"])
        if tool is None:
            text = f"error: no tool named {action['tool']!r}"
        else:
            try:
                value = tool(**action["args"])
                text = json.dumps(value) if isinstance(value, dict) else str(value)
            except Exception as exc:
                text = f"error: {exc}"
        transcript.append({"action": action, "observation": text})
    out["cost"] = (out["prompt_tokens"] * prices[0] + out["output_tokens"] * prices[1]) / 1_000_000
    return out
'''
PROD = (
    "    return 2 * n_layers * n_kv_heads * head_dim * bytes_per_value * n_tokens * batch_size",
    "    import math\n\n"
    "    return math.prod([2, n_layers, n_kv_heads, head_dim, bytes_per_value, n_tokens, "
    "batch_size])",
)

WRONG = {  # student -> {case: (question, graded cells that must score 0, change)}
    "every digit, every version, superseded context, 'it states it', no factor 2, retrieval only": {
        "redaction of every digit": ("redact_and_flag", ["redact_pii_test"], EVERY_DIGIT),
        "retrieval without the version in force": (
            "build_retriever",
            ["retrieval_in_force"],
            NO_IN_FORCE,
        ),
        "a context that keeps superseded versions": (
            "assemble_context",
            ["assemble_context_test"],
            KEEPS_SUPERSEDED,
        ),
        "a judge that only checks the cited passage states the amount": (
            "answer_judge",
            ["acceptable_test"],
            STATES_IT,
        ),
        "a KV cache without keys and values": ("cost_and_memory", ["estimates_test"], NO_FACTOR_2),
        "a prompt of the question alone": (
            "assistant_estimates",
            ["assistant_estimates_test"],
            QUESTION_ALONE,
        ),
        "a design judged on retrieval alone": (
            "assistant_design",
            ["assistant_design_test"],
            RETRIEVAL_ONLY,
        ),
        "an agent loop without a budget": ("run_agent", ["agent_loop_stops"], NO_BUDGET),
    },
    "any ignore, no injection filter, stops at the first misfit, trusts posts, per question": {
        "injection flags on any 'ignore'": ("redact_and_flag", ["flag_injection_test"], ANY_IGNORE),
        "retrieval without the injection filter": (
            "build_retriever",
            ["retrieval_in_force"],
            NO_INJECTION_FILTER,
        ),
        "a context that stops at the first passage that does not fit": (
            "assemble_context",
            ["assemble_context_test"],
            STOPS_AT_FIRST_MISFIT,
        ),
        "a judge that trusts customers' posts": (
            "answer_judge",
            ["acceptable_test"],
            *TRUSTS_POSTS,
        ),
        "a cost per question, not per thousand": (
            "cost_and_memory",
            ["estimates_test"],
            PER_QUESTION,
        ),
        "a KV cache of one sequence at the peak": (
            "assistant_estimates",
            ["assistant_estimates_test"],
            ONE_SEQUENCE,
        ),
        "an agent loop that fails on a tool's error": (
            "run_agent",
            ["agent_tools_and_cost"],
            ERRORS_CRASH,
        ),
        "a design feature read from a column the help center does not have": (
            "assistant_design",
            ["assistant_design_grounded"],
            ('source="passages.effective"', 'source="passages.version"'),
        ),
    },
}
HONEST = {
    "other patterns, BM25 and the topic, pandas context, one expression, math.prod": {
        "redaction by other patterns": (
            "redact_and_flag",
            ["redact_pii_test", "flag_injection_test"],
            OTHER_PATTERNS,
        ),
        "BM25 alone with the question's product and policy": (
            "build_retriever",
            ["retrieval_in_force"],
            BM25_AND_TOPIC,
        ),
        "context assembly in pandas": (
            "assemble_context",
            ["assemble_context_test"],
            PANDAS_CONTEXT,
        ),
        "a judge as one expression": ("answer_judge", ["acceptable_test"], ONE_EXPRESSION),
        "estimates with math.prod": ("cost_and_memory", ["estimates_test"], PROD),
        "a small internal assistant on a 70B model, its cache in GiB": (
            "assistant_estimates",
            ["assistant_estimates_test"],
            SMALL_ASSISTANT,
        ),
        "an agent loop over range(max_steps)": (
            "run_agent",
            ["agent_loop_stops", "agent_tools_and_cost"],
            FOR_LOOP,
        ),
    },
}


def test_wrong_answers_lose_points_and_honest_ones_keep_them(course, tmp_path):
    grade_cases(course, DAY, SPEC, {**WRONG, **HONEST}, WRONG, tmp_path)
