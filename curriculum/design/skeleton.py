"""The seven-step answer skeleton for an ML system design question, as data.

The steps follow the framework of A. Aminian and A. Xu, *Machine Learning System Design Interview*
(ByteByteGo, 2023), chapter 1 — clarify requirements, frame the problem as an ML task, data
preparation, model development, evaluation, deployment and serving, monitoring — with feature
engineering placed next to the model choice. Comparable frameworks: the 9-step formula of the
``alirezadir/Machine-Learning-Interviews`` guide on GitHub and C. Huyen, *Designing Machine
Learning Systems* (O'Reilly, 2022). Renderers turn the data into the one-page handout that
``mlsd skeleton`` prints (Markdown, HTML or PDF).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Step:
    """One step of the answer skeleton.

    Attributes
    ----------
    number : int
        1 to 7, the order to go through in an interview.
    key : str
        Short identifier (``"requirements"``), also the field group of a design document.
    title : str
        Heading of the step.
    questions : tuple of str
        What to ask or decide.
    strong_answer : tuple of str
        What a strong answer contains.
    pitfalls : tuple of str
        Common mistakes.
    """

    number: int
    key: str
    title: str
    questions: tuple[str, ...]
    strong_answer: tuple[str, ...]
    pitfalls: tuple[str, ...]


SKELETON: tuple[Step, ...] = (
    Step(
        1,
        "requirements",
        "Clarify requirements and constraints",
        (
            "What is the business goal, and how is success measured today?",
            "Who are the users, how many, and how fast must the system answer?",
            "What data exists, and what may not be used (privacy, regulation)?",
        ),
        (
            "Scale in numbers: users, requests per second, latency budget.",
            "Explicit scope: what is in and out of this design.",
        ),
        ("Jumping to a model before knowing the goal.", "No numbers for scale or latency."),
    ),
    Step(
        2,
        "framing",
        "Frame the problem as an ML task",
        (
            "Which business objective becomes which ML objective?",
            "What are the inputs and the output of the model?",
            "Which task type: classification, regression, ranking...?",
        ),
        (
            "A prediction target that moves the business metric.",
            "Inputs available at prediction time only.",
        ),
        (
            "Optimising a proxy that diverges from the goal (clicks vs satisfaction).",
            "Not asking whether a rule or heuristic would do.",
        ),
    ),
    Step(
        3,
        "data",
        "Data and labels",
        (
            "Where do training examples come from?",
            "How are labels produced, and how late do they arrive?",
            "What bias does the current system put in the data?",
        ),
        ("Label source, delay and noise stated.", "Point-in-time correct training examples."),
        (
            "Labels that use information from after the prediction time.",
            "Ignoring selection bias from the system already in production.",
        ),
    ),
    Step(
        4,
        "features_model",
        "Features and model",
        (
            "Which feature groups (user, item, context, cross), and where does each come from?",
            "What is the simplest baseline?",
            "Which model family, and why?",
        ),
        (
            "A baseline first, then a model that fits data size and latency.",
            "Features grouped, each from data you have or can collect, computable online.",
        ),
        ("A large model without a baseline.", "Features that cannot be served in time."),
    ),
    Step(
        5,
        "evaluation",
        "Evaluation",
        (
            "Which offline metric fits the task and the costs of errors?",
            "Which online metric and experiment decide the launch?",
        ),
        (
            "Offline metric matched to the task (PR-AUC for rare events, NDCG for ranking).",
            "An A/B test with a guardrail metric.",
        ),
        ("Accuracy on imbalanced data.", "Offline gains with no online plan."),
    ),
    Step(
        6,
        "serving",
        "Serving",
        (
            "Batch or online predictions?",
            "What is the latency budget per request?",
            "What happens when the model is unavailable?",
        ),
        (
            "Latency budget and throughput in numbers.",
            "A fallback path; rollout by shadow, then canary, with a rollback.",
        ),
        ("No latency budget for an online system.", "Training/serving skew in features."),
    ),
    Step(
        7,
        "monitoring",
        "Monitoring and infrastructure",
        (
            "What can be monitored before labels arrive?",
            "When and how is the model retrained?",
            "Which feedback loops exist?",
            "What runs it: orchestration, feature store, model registry, serving?",
        ),
        (
            "Input drift, prediction drift and delayed-label metrics.",
            "A retraining trigger or schedule.",
            "The infrastructure by layer: pipelines, features, registry, serving.",
        ),
        ("Monitoring only system health.", "Feedback loops that reinforce the model's bias."),
    ),
)

SOURCES = (
    "A. Aminian, A. Xu, Machine Learning System Design Interview, ByteByteGo, 2023 (ch. 1).",
    "C. Huyen, Designing Machine Learning Systems, O'Reilly, 2022.",
)
TITLE = "ML system design: the 7-step answer skeleton"

HOW_TO_USE = (
    "Spend the first ~8 minutes on steps 1–2, then draw the high-level diagram end to end before "
    "any detail. State numbers (users, QPS, latency) with the assumptions behind them, and say "
    "which trade-off you choose and why. Keep this page beside you for every day of the course."
)

#: the bottom of the handout: short reference cards (title, lines)
EXTRAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "A 45-minute interview (a suggested split)",
        (
            "0–8 min: requirements and framing (1–2), numbers and assumptions said aloud; "
            "8–12 min: the high-level diagram.",
            "12–20 min: data, label, features (3–4); 20–26 min: model and metrics (4–5).",
            "26–33 min: serving and monitoring (6–7); 33–45 min: the interviewer's deep dives, "
            "trade-offs, what next.",
        ),
    ),
    (
        "Metrics: offline ↔ online",
        (
            "Rare events: PR-AUC, recall at a precision ↔ losses prevented, review load.",
            "Probabilities (ads): log loss, normalized entropy, calibration ↔ revenue, CTR.",
            "Ranking: recall@k, NDCG@k, MRR, coverage ↔ watch time, retention.",
            "Regression (ETA): MAE, p95 error ↔ late arrivals. Guardrails: latency, complaints; "
            "launch on an A/B test by user — or a switchback (region × time) where users share "
            "supply.",
        ),
    ),
    (
        "The funnel and serving patterns",
        (
            "Retrieval (ANN index or rules): millions → hundreds; ranking: a richer model on "
            "hundreds; re-ranking: diversity, freshness, business rules — a latency budget each.",
            "Batch (precomputed), online (per request) or hybrid; always a fallback.",
        ),
    ),
    (
        "Features at scale",
        (
            "Batch job → offline store (history, point-in-time joins for training) → "
            "materialize → online store (milliseconds by key).",
            "Streaming features (Kafka → Flink) and request-time features; TTL and freshness; "
            "the same definitions in training and serving (no skew).",
        ),
    ),
)

#: the production tools strip: layer → tools
TOOLS_STRIP: tuple[tuple[str, str], ...] = (
    ("Orchestration", "Airflow, Prefect"),
    ("Streaming", "Kafka, Flink"),
    ("Features", "Feast, Tecton"),
    ("Training", "PyTorch, TensorFlow, Ray"),
    ("Tracking and registry", "MLflow, W&B"),
    ("Serving", "Triton, KServe"),
    ("Vector search", "Pinecone, Milvus, Qdrant (or FAISS in process)"),
    ("Monitoring", "Evidently"),
)


def tools_strip() -> str:
    """The tools strip as one line: ``Layer: tools · Layer: tools ...``."""
    return " · ".join(f"{layer}: {tools}" for layer, tools in TOOLS_STRIP)


def step(key: str) -> Step:
    """The step whose key is `key`."""
    for s in SKELETON:
        if s.key == key:
            return s
    raise KeyError(f"no skeleton step {key!r}; steps: {', '.join(s.key for s in SKELETON)}")


def skeleton_markdown() -> str:
    """The skeleton as a Markdown page."""
    lines = [f"# {TITLE}", ""]
    for s in SKELETON:
        lines += [f"## {s.number}. {s.title}", "", "**Ask / decide**", ""]
        lines += [f"- {q}" for q in s.questions]
        lines += ["", "**A strong answer has**", ""]
        lines += [f"- {a}" for a in s.strong_answer]
        lines += ["", "**Pitfalls**", ""]
        lines += [f"- {p}" for p in s.pitfalls]
        lines.append("")
    lines += ["## How to use it", "", HOW_TO_USE, ""]
    for name, values in EXTRAS:
        lines += [f"### {name}", ""] + [f"- {v}" for v in values] + [""]
    lines += ["### Production tools", "", tools_strip(), ""]
    lines += ["---", "", "Sources: " + " ".join(SOURCES), ""]
    return "\n".join(lines)


def skeleton_html() -> str:
    """The skeleton as a self-contained HTML page, laid out to print on one page."""
    cards = []
    for s in SKELETON:

        def items(values: tuple[str, ...]) -> str:
            return "".join(f"<li>{html.escape(v)}</li>" for v in values)

        cards.append(
            f"<section><h2><span>{s.number}</span> {html.escape(s.title)}</h2>"
            f"<h3>Ask / decide</h3><ul>{items(s.questions)}</ul>"
            f"<h3>Strong answer</h3><ul>{items(s.strong_answer)}</ul>"
            f'<h3>Pitfalls</h3><ul class="pit">{items(s.pitfalls)}</ul></section>'
        )
    cards.append(f"<section><h2>How to use it</h2><p>{html.escape(HOW_TO_USE)}</p></section>")
    extras = "".join(
        f"<section><h3>{html.escape(name)}</h3><ul>"
        + "".join(f"<li>{html.escape(v)}</li>" for v in values)
        + "</ul></section>"
        for name, values in EXTRAS
    )
    style = (
        "body{font:10pt/1.3 system-ui,sans-serif;margin:1.2cm;color:#222}"
        "h1{font-size:16pt;margin:0 0 .4cm}main{display:grid;grid-template-columns:1fr 1fr;"
        "gap:.35cm}section{border:1px solid #bbb;border-radius:6px;padding:.2cm .3cm}"
        "h2{font-size:11pt;margin:0}h2 span{background:#1f5f99;color:#fff;border-radius:50%;"
        "padding:0 .45em;margin-right:.2em}h3{font-size:8.5pt;margin:.15cm 0 0;color:#1f5f99;"
        "text-transform:uppercase}ul{margin:0;padding-left:1.1em}.pit li{color:#8a1c1c}"
        "footer{font-size:8pt;color:#666;margin-top:.3cm}@page{size:A4;margin:0}"
        ".extras{grid-template-columns:1fr 1fr 1fr 1fr;margin-top:.35cm;font-size:8.5pt}"
        ".extras section{padding:.15cm .25cm}p{margin:.1cm 0}.tools{margin-top:.3cm;"
        "font-size:8.5pt}.tools b{color:#1f5f99}"
    )
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{TITLE}</title>"
        f"<style>{style}</style></head><body><h1>{TITLE}</h1><main>{''.join(cards)}</main>"
        f"<main class='extras'>{extras}</main>"
        f"<p class='tools'><b>Production tools</b> — {html.escape(tools_strip())}</p>"
        f"<footer>Sources: {html.escape(' '.join(SOURCES))}</footer></body></html>\n"
    )


def write_skeleton_pdf(path: Path) -> Path:
    """Write the skeleton as a one-page A4 PDF handout (reportlab, works offline)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    blue = colors.HexColor("#1f5f99")
    base = ParagraphStyle("base", fontName="Helvetica", fontSize=8.1, leading=9.9)
    head = ParagraphStyle(
        "head", parent=base, fontName="Helvetica-Bold", fontSize=10.5, leading=13, textColor=blue
    )
    label = ParagraphStyle(
        "label",
        parent=base,
        fontName="Helvetica-Bold",
        fontSize=7.4,
        textColor=colors.HexColor("#555555"),
        spaceBefore=2,
    )
    pit = ParagraphStyle("pit", parent=base, textColor=colors.HexColor("#8a1c1c"))
    title = ParagraphStyle(
        "title", parent=base, fontName="Helvetica-Bold", fontSize=15, leading=18, spaceAfter=6
    )
    foot = ParagraphStyle("foot", parent=base, fontSize=6.5, textColor=colors.grey)

    def grid(side: float, top: float, bottom: float) -> TableStyle:
        """Boxed cards aligned to the top, with the given paddings in points."""
        line = colors.HexColor("#bbbbbb")
        return TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (0, 0), (-1, -1), 0.6, line),
                ("INNERGRID", (0, 0), (-1, -1), 0.6, line),
                ("LEFTPADDING", (0, 0), (-1, -1), side),
                ("RIGHTPADDING", (0, 0), (-1, -1), side),
                ("TOPPADDING", (0, 0), (-1, -1), top),
                ("BOTTOMPADDING", (0, 0), (-1, -1), bottom),
            ]
        )

    def card(s: Step) -> list:
        cell = [Paragraph(f"{s.number}. {html.escape(s.title)}", head)]
        for name, values, style in (
            ("ASK / DECIDE", s.questions, base),
            ("A STRONG ANSWER HAS", s.strong_answer, base),
            ("PITFALLS", s.pitfalls, pit),
        ):
            cell.append(Paragraph(name, label))
            cell += [Paragraph(f"• {html.escape(v)}", style) for v in values]
        return cell

    cards = [card(s) for s in SKELETON]
    cards.append(
        [
            Paragraph("How to use it", head),
            Paragraph(html.escape(HOW_TO_USE), base),
        ]
    )
    rows = [cards[i : i + 2] for i in range(0, len(cards), 2)]
    width = (A4[0] - 2.4 * cm) / 2
    table = Table(rows, colWidths=[width, width])
    table.setStyle(grid(side=6, top=5, bottom=6))
    path = Path(path)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=1.2 * cm,
        rightMargin=1.2 * cm,
        topMargin=1.1 * cm,
        bottomMargin=1.0 * cm,
        title=TITLE,
        author="ML System Design Lab",
        invariant=1,
    )
    small = ParagraphStyle("small", parent=base, fontSize=6.9, leading=8.1)
    small_head = ParagraphStyle("small_head", parent=head, fontSize=8.2, leading=10)
    extra_cells = [
        [Paragraph(html.escape(name), small_head)]
        + [Paragraph(f"• {html.escape(v)}", small) for v in values]
        for name, values in EXTRAS
    ]
    quarter = (A4[0] - 2.4 * cm) / 4
    extras = Table([extra_cells], colWidths=[quarter] * 4)
    extras.setStyle(grid(side=4, top=3, bottom=4))
    strip = Paragraph(
        "<b>Production tools</b> — "
        + " · ".join(f"<b>{html.escape(k)}</b>: {html.escape(v)}" for k, v in TOOLS_STRIP),
        small,
    )
    doc.build(
        [
            Paragraph(TITLE, title),
            table,
            Spacer(1, 5),
            extras,
            Spacer(1, 4),
            strip,
            Spacer(1, 4),
            Paragraph("Sources: " + html.escape(" ".join(SOURCES)), foot),
        ]
    )
    return path
