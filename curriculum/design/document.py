"""A structured design document, one field group per skeleton step, with friendly validation.

A learner fills in a :class:`DesignDocument` for a prompt; :meth:`DesignDocument.validate` returns
:class:`Finding` objects that name the step and say what to add or fix. Validation checks the
*structure* (every step answered, metrics that fit the task, a latency budget for an online
system, no feature that is only known after the outcome...). Given the case's data,
``validate(data=...)`` also checks that every feature and the label say where they come from: a
column the data has, or how data it lacks would be collected. Whether the content is good is
graded by a person with the rubric.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: ML task types a framing can choose
TASK_TYPES = (
    "binary_classification",
    "multiclass_classification",
    "regression",
    "quantile_regression",
    "ranking",
    "generation",  # an answer written by a model (retrieval-augmented generation, an agent)
)
_CLASSIFICATION = {"binary_classification", "multiclass_classification"}
_REGRESSION = {"regression", "quantile_regression"}

#: a model whose scores order a list: a ranker, or a classifier whose scores rank (the pointwise
#: framing of most recommenders and ad systems). Both are judged with ranking metrics, and a
#: pointwise ranker, being a classifier of relevance, with the classifier's score metrics too.
_SCORED = {"binary_classification", "ranking"}
#: a generated answer is judged on what it says, and its retrieval stage like any ranker
_RETRIEVED = _SCORED | {"generation"}

#: offline metric → the task types it fits. Ranking metrics judge the ordered list whatever loss
#: trained the scorer; a pointwise ranker's scores are judged like a classifier's (AUC, PR-AUC,
#: log loss, calibration).
OFFLINE_METRICS: dict[str, set[str]] = {
    "accuracy": _CLASSIFICATION,
    "precision": _CLASSIFICATION,
    "recall": _CLASSIFICATION,
    "f1": _CLASSIFICATION,
    "roc_auc": _SCORED,
    "pr_auc": _SCORED,
    "recall_at_precision": {"binary_classification"},
    "log_loss": _CLASSIFICATION | {"ranking"},
    "normalized_entropy": _SCORED,
    "calibration_error": _SCORED,
    "expected_cost": _CLASSIFICATION | _REGRESSION,
    "mae": _REGRESSION,
    "rmse": _REGRESSION,
    "mape": _REGRESSION,
    "p50_abs_error": _REGRESSION,
    "p95_abs_error": _REGRESSION,
    "pinball_loss": _REGRESSION,
    "coverage": _REGRESSION,  # of a predicted quantile or interval: a P90 ETA beside the mean
    "ndcg": _RETRIEVED,
    "recall_at_k": _RETRIEVED,
    "precision_at_k": _RETRIEVED,
    "map": _RETRIEVED,
    "mrr": _RETRIEVED,
    "catalogue_coverage": _SCORED,
    "groundedness": {"generation"},  # every claim supported by a cited passage
    "answer_correctness": {"generation"},  # against a key, or graded by people
    "refusal_rate": {"generation"},  # questions it declined, rightly or not
}
FEATURE_GROUPS = ("user", "item", "context", "cross")
AVAILABILITY = ("prediction", "after")
SERVING_MODES = ("online", "batch", "hybrid")
SPLITS = ("time", "random", "user")


#: words that scale a number without saying what it counts ("10k", "2 million")
_MAGNITUDES = frozenset({"k", "m", "b", "bn", "mn", "thousand", "million", "billion", "trillion"})


def _words(text: str) -> list[str]:
    """The words of `text`, lower-cased, without digits or underscores ("10k QPS" -> k, qps)."""
    return re.findall(r"[^\W\d_]+", text.lower())


#: text that stands for an answer not yet written
PLACEHOLDERS = frozenset({"...", "…", "todo", "tbd", "tba", "?", "xxx", "n/a"})


def is_placeholder(value: object) -> bool:
    """True when `value` is not an answer yet: None, ``...``, empty, or placeholder text.

    A list is a placeholder when it is empty or every item is one; strings such as ``"..."``,
    ``"TODO"`` or ``"tbd"`` (any case, surrounding spaces and punctuation ignored) count too.
    """
    if value is None or value is Ellipsis:
        return True
    if isinstance(value, str):
        text = value.strip().lower()
        return not text or text in PLACEHOLDERS or not any(ch.isalnum() for ch in text)
    if isinstance(value, list | tuple):
        return all(is_placeholder(v) for v in value)
    return False


@dataclass
class Feature:
    """A feature idea.

    Attributes
    ----------
    name : str
        What it is, e.g. ``"user's clicks on this category, last 7 days"``.
    group : str
        ``user``, ``item``, ``context`` or ``cross`` (user × item).
    available_at : str
        ``prediction`` if it is known when the prediction is made, ``after`` if it is only
        known once the outcome happened (such a feature leaks the label).
    source : str or list of str
        Where its values come from: columns of the case's data (``"trips.weather"``, or just
        ``"weather"``; a list of them will do), or, for data the case does not have, how it
        would be collected
        (``"sent by the rider app with each request"``). Checked by
        :meth:`DesignDocument.grounding`.
    """

    name: str
    group: str
    available_at: str = "prediction"
    source: str | list[str] = ""


@dataclass
class Requirements:
    """Step 1: goal, scale and constraints."""

    business_goal: str = ""
    scale: str = ""
    positive_rate: float | None = None  # share of positive examples, if it is a rare event
    constraints: list[str] = field(default_factory=list)


@dataclass
class Framing:
    """Step 2: the ML task."""

    ml_objective: str = ""
    task_type: str = ""
    inputs: list[str] = field(default_factory=list)
    output: str = ""


@dataclass
class Data:
    """Step 3: data and labels.

    ``label_source`` says what the label is computed from: columns of the case's data
    (``"trips.duration_s"``; a list of them will do), or how labels are produced where no column
    holds them (raters, a review queue). Checked by :meth:`DesignDocument.grounding`.
    """

    sources: list[str] = field(default_factory=list)
    label: str = ""
    label_delay: str = ""
    split: str = ""
    label_source: str | list[str] = ""


@dataclass
class FeaturesModel:
    """Step 4: features and model."""

    features: list[Feature] = field(default_factory=list)
    baseline: str = ""
    model: str = ""


@dataclass
class Evaluation:
    """Step 5: offline and online evaluation."""

    offline_metrics: list[str] = field(default_factory=list)
    online_metrics: list[str] = field(default_factory=list)
    experiment: str = ""


@dataclass
class Serving:
    """Step 6: how predictions are served.

    ``latency_budget_ms`` means the same on every day: the time the ML system may take to answer
    one request of the product (retrieval, feature lookups, the model, re-ranking), in
    milliseconds — the model's share of a page that also waits on other services (Day 1: ~80 ms
    of a 200 ms page), or the whole request when the ML system is the request (Day 5's feed,
    200 ms). A batch system that precomputes its answers needs none.
    """

    mode: str = ""
    latency_budget_ms: float | None = None
    throughput: str = ""
    fallback: str = ""


@dataclass
class Monitoring:
    """Step 7: monitoring and infrastructure."""

    signals: list[str] = field(default_factory=list)
    retraining: str = ""
    feedback_loops: str = ""


@dataclass
class Scope:
    """Step 1: what the design covers and what it leaves out, agreed early with the interviewer."""

    in_scope: list[str] = field(default_factory=list)
    out_of_scope: list[str] = field(default_factory=list)


@dataclass
class Alternative:
    """A choice made against another: the option, the one rejected, why, and what it costs."""

    option: str = ""
    rejected: str = ""
    why: str = ""
    cost: str = ""


@dataclass(frozen=True)
class Finding:
    """Something a design document misses or gets wrong, named by step and field."""

    step: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"[{self.step}.{self.field}] {self.message}"


@dataclass
class DesignDocument:
    """A design answer to a prompt, one field group per skeleton step."""

    prompt: str
    requirements: Requirements = field(default_factory=Requirements)
    framing: Framing = field(default_factory=Framing)
    data: Data = field(default_factory=Data)
    features_model: FeaturesModel = field(default_factory=FeaturesModel)
    evaluation: Evaluation = field(default_factory=Evaluation)
    serving: Serving = field(default_factory=Serving)
    monitoring: Monitoring = field(default_factory=Monitoring)
    scope: Scope = field(default_factory=Scope)
    alternatives: list[Alternative] = field(default_factory=list)

    def validate(self, data: Mapping[str, object] | None = None) -> list[Finding]:
        """Return the problems of the document (empty when it is complete).

        Parameters
        ----------
        data : mapping of str to DataFrame or column names, optional
            The case's data, table name to its columns (a DataFrame will do), e.g.
            ``{"trips": trips}``. When given, the findings of :meth:`grounding` are included.

        Returns
        -------
        list of Finding
            Each names the step and field and says what to add or fix.
        """
        found: list[Finding] = []

        def need(step: str, name: str, value: object, message: str) -> None:
            if is_placeholder(value):
                found.append(Finding(step, name, message))

        def one_of(step: str, name: str, value: str, options: tuple[str, ...]) -> bool:
            if value in options:
                return True
            found.append(
                Finding(step, name, f"{name} {value!r} is not one of: {', '.join(options)}.")
            )
            return False

        r, f, d = self.requirements, self.framing, self.data
        fm, e, s, m = self.features_model, self.evaluation, self.serving, self.monitoring
        need(
            "requirements",
            "business_goal",
            r.business_goal,
            "State the business goal the system serves before designing anything.",
        )
        need(
            "requirements",
            "scale",
            r.scale,
            "Give the scale in numbers (users, requests per second, data volume).",
        )
        need(
            "scope",
            "in_scope",
            self.scope.in_scope,
            "Say what the design covers (the surfaces, users and decisions it owns).",
        )
        need(
            "scope",
            "out_of_scope",
            self.scope.out_of_scope,
            "Say what it leaves out, so the interviewer can agree or redirect early.",
        )
        need(
            "framing",
            "ml_objective",
            f.ml_objective,
            "Say what the model predicts and how that moves the business goal.",
        )
        need("framing", "output", f.output, "Say what the model outputs (a score, a time, a list).")
        one_of("framing", "task_type", f.task_type, TASK_TYPES)
        need("data", "sources", d.sources, "List where training examples come from.")
        need("data", "label", d.label, "Say what the label is and how it is produced.")
        need(
            "data",
            "label_delay",
            d.label_delay,
            "Say when the label becomes known (at once, at trip end, weeks later...).",
        )
        if one_of("data", "split", d.split, SPLITS) and d.split == "random":
            found.append(
                Finding(
                    "data",
                    "split",
                    "A random split trains on the future of the test rows: split by "
                    "time so evaluation looks like production.",
                )
            )
        self._check_features(found)
        need(
            "features_model",
            "baseline",
            fm.baseline,
            "Name a simple baseline to beat (a rule, a heuristic, the current system).",
        )
        need("features_model", "model", fm.model, "Name the model family and why it fits.")
        self._check_metrics(found)
        need(
            "evaluation",
            "experiment",
            e.experiment,
            "Say how the launch is decided online (A/B test, guardrails).",
        )
        if (
            one_of("serving", "mode", s.mode, SERVING_MODES)
            and s.mode in ("online", "hybrid")
            and not s.latency_budget_ms
        ):
            found.append(
                Finding(
                    "serving",
                    "latency_budget_ms",
                    "An online system needs a latency budget in milliseconds.",
                )
            )
        stated = self._stated_milliseconds()
        if s.mode in ("online", "hybrid") and s.latency_budget_ms and stated:
            if s.latency_budget_ms > max(stated):
                found.append(
                    Finding(
                        "serving",
                        "latency_budget_ms",
                        f"The serving budget ({s.latency_budget_ms:g} ms) is longer than any time "
                        f"your requirements allow (at most {max(stated):g} ms): make them agree.",
                    )
                )
        need("serving", "fallback", s.fallback, "Say what is served when the model fails.")
        need(
            "monitoring",
            "signals",
            m.signals,
            "List what you monitor: inputs, predictions, delayed-label metrics.",
        )
        need("monitoring", "retraining", m.retraining, "Say when and how the model is retrained.")
        need(
            "monitoring",
            "feedback_loops",
            m.feedback_loops,
            "Say how the model's own predictions shape its future training data (feedback "
            "loops) and what you do about it, or why there is none.",
        )
        argued = [
            a
            for a in self.alternatives
            if isinstance(a, Alternative)
            and not any(is_placeholder(v) for v in (a.option, a.rejected, a.why))
        ]
        if not argued:
            found.append(
                Finding(
                    "alternatives",
                    "alternatives",
                    "Name at least one choice made against another: Alternative(option, "
                    "rejected, why, cost), the rejected option and the reason included.",
                )
            )
        self._check_substance(found)
        if data is not None:
            found.extend(self.grounding(data))
        return found

    #: the fewest distinct words that can say how missing data would be collected
    _ARGUED = 4

    def grounding(self, data: Mapping[str, object]) -> list[Finding]:
        """Check that every feature and the label say where they come from.

        The interviewer's question "do we have that?": a source either names columns of the
        case's data (``table.column`` or the bare column name, any case) or, for data the case
        does not have, says in a phrase how it would be collected. A ``table.column`` whose
        table is in the data but whose column is not is a claim about data that does not exist.

        Parameters
        ----------
        data : mapping of str to DataFrame or column names
            The case's data, table name to its columns, e.g. ``{"trips": trips}``.

        Returns
        -------
        list of Finding
            One per feature or label whose source is missing, names a column the data does
            not have, or neither names a column nor says how the data would be collected.

        Raises
        ------
        TypeError
            If `data` is not a mapping of table names to columns.
        """
        schema = _schema(data)
        lowered = {table: {c.lower() for c in columns} for table, columns in schema.items()}
        known = set().union(*lowered.values())
        listing = "; ".join(f"{table}: {', '.join(columns)}" for table, columns in schema.items())
        found: list[Finding] = []

        def check(step: str, name: str, what: str, text: object) -> None:
            if isinstance(text, list | tuple) and all(isinstance(t, str) for t in text):
                text = ", ".join(text)  # ["trips.pickup_lat", "trips.pickup_lng"] will do
            if not isinstance(text, str) or is_placeholder(text):
                found.append(
                    Finding(
                        step,
                        name,
                        f"Say where {what} comes from: columns of the case's data ({listing}), "
                        "or how it would be collected.",
                    )
                )
                return
            claimed = re.findall(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)", text)
            missing = [
                f"{table}.{column}"
                for table, column in claimed
                if table in lowered and column.lower() not in lowered[table]
            ]
            if missing:
                found.append(
                    Finding(
                        step,
                        name,
                        f"{what}: the case's data has no {', '.join(missing)} ({listing}). For "
                        "data it does not have, say how it would be collected.",
                    )
                )
                return
            if {token.lower() for token in re.findall(r"[A-Za-z_]\w*", text)} & known:
                return
            if len(set(_words(text))) < self._ARGUED:
                found.append(
                    Finding(
                        step,
                        name,
                        f"{what}: {text.strip()!r} names no column of the case's data "
                        f"({listing}); for data it does not have, say in a phrase how it would "
                        "be collected.",
                    )
                )

        for feat in self.features_model.features:
            if isinstance(feat, Feature) and not is_placeholder(feat.name):
                check("features_model", "features", repr(feat.name), feat.source)
        check("data", "label_source", "the label", self.data.label_source)
        return found

    def _stated_milliseconds(self) -> list[float]:
        """The times in milliseconds (or seconds) the requirements state, e.g. "under 200 ms"."""
        texts = [self.requirements.scale, *self.requirements.constraints]
        found: list[float] = []
        for text in texts:
            if not isinstance(text, str):
                continue
            for number, unit in re.findall(
                r"(\d[\d,]*(?:\.\d+)?)\s*(ms|milliseconds?|s|sec|seconds?)\b", text.lower()
            ):
                value = float(number.replace(",", ""))
                found.append(value if unit.startswith("m") else value * 1000.0)
        return found

    #: text fields that must say something, and the fewest distinct words that can ("2-week A/B")
    _SUBSTANCE = (
        ("requirements", "business_goal", 2),
        ("requirements", "scale", 1),
        ("framing", "ml_objective", 2),
        ("framing", "output", 1),
        ("data", "label", 1),
        ("features_model", "baseline", 1),
        ("features_model", "model", 1),
        ("evaluation", "experiment", 2),
        ("serving", "fallback", 1),
        ("monitoring", "retraining", 1),
        ("monitoring", "feedback_loops", 2),
    )

    #: how many short answers (list items, features, alternatives) may say the same words
    _PASTED = 4

    def _check_substance(self, found: list[Finding]) -> None:
        """Text that is there but says nothing ("blah 1"), and one text pasted into many fields.

        A machine cannot judge an answer's content (a person grades it with the rubric); it can
        refuse what is not an answer yet: too few words to say anything, a scale without a
        number, the same words answering different questions.
        """
        texts: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        for step, name, fewest in self._SUBSTANCE:
            value = getattr(getattr(self, step), name)
            if not isinstance(value, str) or is_placeholder(value):
                continue  # reported as missing already
            words = _words(value)
            if len(set(words)) < fewest:
                found.append(
                    Finding(step, name, f"{value.strip()!r} says too little: answer in a phrase.")
                )
            elif name == "scale" and not (re.search(r"\d", value) and set(words) - _MAGNITUDES):
                found.append(
                    Finding(
                        step,
                        name,
                        "Give the scale in numbers, with their units (requests per second, "
                        "users, items...): '10k' alone says 10k of what?",
                    )
                )
            if words:
                texts.setdefault(tuple(words), []).append((step, name))
        items: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        for step, name, value in self._items():
            words = _words(value)
            if words and not is_placeholder(value):
                items.setdefault(tuple(words), []).append((step, name))
        # "blah 1", "blah 2": the same words, whatever the numbers. Two long answers alike are a
        # pasted text; short ones ("CTR" as an online metric and as a signal, the model named again
        # as an alternative's option) only when the same words fill _PASTED places
        for words in {**texts, **items}:
            long, short = texts.get(words, []), items.get(words, [])
            places = long + short if len(long) + len(short) >= self._PASTED else long
            first = ".".join(places[0]) if places else ""
            for step, name in places[1:]:
                found.append(
                    Finding(step, name, f"The same words answer {first} and {step}.{name}.")
                )

    def _items(self) -> list[tuple[str, str, str]]:
        """The short answers outside :attr:`_SUBSTANCE`: list items, features, alternatives."""
        out: list[tuple[str, str, str]] = []
        lists = (
            ("requirements", "constraints"),
            ("scope", "in_scope"),
            ("scope", "out_of_scope"),
            ("framing", "inputs"),
            ("data", "sources"),
            ("evaluation", "online_metrics"),
            ("monitoring", "signals"),
        )
        for step, name in lists:
            value = getattr(getattr(self, step), name)
            if isinstance(value, list | tuple):
                out += [(step, name, v) for v in value if isinstance(v, str)]
        for step, name in (("data", "label_delay"), ("serving", "throughput")):
            value = getattr(getattr(self, step), name)
            if isinstance(value, str):
                out.append((step, name, value))
        for feat in self.features_model.features:
            if isinstance(feat, Feature) and isinstance(feat.name, str):
                out.append(("features_model", "features", feat.name))
        for alt in self.alternatives:
            if isinstance(alt, Alternative):
                out += [
                    ("alternatives", part, v)
                    for part in ("option", "rejected", "why", "cost")
                    if isinstance(v := getattr(alt, part), str)
                ]
        return out

    def _check_features(self, found: list[Finding]) -> None:
        features = self.features_model.features
        if not features:
            found.append(
                Finding(
                    "features_model",
                    "features",
                    "Brainstorm features, grouped user / item / context.",
                )
            )
            return
        groups = set()
        for feat in features:
            if is_placeholder(feat.name):
                found.append(
                    Finding(
                        "features_model",
                        "features",
                        f"A {feat.group} feature has no description yet: say what it measures, "
                        "over which window, from which source.",
                    )
                )
                continue
            if feat.group not in FEATURE_GROUPS:
                found.append(
                    Finding(
                        "features_model",
                        "features",
                        f"{feat.name!r}: group {feat.group!r} is not one of "
                        f"{', '.join(FEATURE_GROUPS)}.",
                    )
                )
            groups.add(feat.group)
            if feat.available_at not in AVAILABILITY:
                found.append(
                    Finding(
                        "features_model",
                        "features",
                        f"{feat.name!r}: available_at must be 'prediction' or 'after'.",
                    )
                )
            elif feat.available_at == "after":
                found.append(
                    Finding(
                        "features_model",
                        "features",
                        f"{feat.name!r} is only known after the outcome: it leaks "
                        "the label and cannot be served.",
                    )
                )
        missing = [g for g in ("user", "item", "context") if g not in groups]
        if missing:
            found.append(
                Finding(
                    "features_model",
                    "features",
                    f"No {' or '.join(missing)} features: cover user, item and context.",
                )
            )

    def _check_metrics(self, found: list[Finding]) -> None:
        e, task = self.evaluation, self.framing.task_type
        if not e.offline_metrics:
            found.append(Finding("evaluation", "offline_metrics", "Choose offline metrics."))
        for metric in e.offline_metrics:
            fits = OFFLINE_METRICS.get(metric)
            if fits is None:
                found.append(
                    Finding(
                        "evaluation",
                        "offline_metrics",
                        f"Unknown metric {metric!r}; known: {', '.join(sorted(OFFLINE_METRICS))}.",
                    )
                )
            elif task in TASK_TYPES and task not in fits:
                suited = sorted(k for k, v in OFFLINE_METRICS.items() if task in v)
                found.append(
                    Finding(
                        "evaluation",
                        "offline_metrics",
                        f"{metric} does not fit {task}; consider: {', '.join(suited)}.",
                    )
                )
        rate = self.requirements.positive_rate
        if rate is not None and rate < 0.05 and "accuracy" in e.offline_metrics:
            found.append(
                Finding(
                    "evaluation",
                    "offline_metrics",
                    f"With {rate:.1%} positives, a model that predicts 'never' has "
                    f"{1 - rate:.1%} accuracy: use pr_auc or recall_at_precision.",
                )
            )
        if not e.online_metrics:
            found.append(
                Finding(
                    "evaluation",
                    "online_metrics",
                    "Name the online (business) metric the A/B test decides on.",
                )
            )


def _schema(data: Mapping[str, object]) -> dict[str, list[str]]:
    """Table name -> column names, from DataFrames or iterables of names."""
    if not isinstance(data, Mapping):
        raise TypeError(
            "data must map each table's name to its columns, e.g. {'trips': trips}; got "
            f"{type(data).__name__}"
        )
    schema: dict[str, list[str]] = {}
    for table, columns in data.items():
        columns = getattr(columns, "columns", columns)
        if isinstance(columns, str) or not isinstance(columns, Iterable):
            raise TypeError(
                f"data[{table!r}] must be a DataFrame or a list of column names, got "
                f"{type(columns).__name__}"
            )
        schema[str(table)] = [str(column) for column in columns]
    return schema
