"""The cases of ``mlsd mock``: a one-line prompt each, and the interviewer's card behind it.

A card holds what a real interviewer knows and the candidate does not: facts revealed only when
asked (scale, latency, labels, privacy, the system that exists today), the questions a strong
candidate asks, deep dives, one requirement change injected around minute 30, red flags, and an
outline of a strong answer shown only after the mock is submitted. The facts describe a
hypothetical company for the exercise; they are not claims about any real one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: topic -> words in a question that ask about it (lower case; a question may touch several)
TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "goal": ("goal", "objective", "business", "success", "kpi", "why", "purpose", "optimi"),
    "scale": (
        "how many",
        "users",
        "qps",
        "traffic",
        "requests",
        "volume",
        "scale",
        "per day",
        "per second",
        "daily",
        "size",
        "catalog",
    ),
    "latency": ("latency", "millisecond", " ms", "fast", "real-time", "realtime", "sla", "respon"),
    "labels": (
        "label",
        "ground truth",
        "feedback",
        "chargeback",
        "annotat",
        "target",
        "outcome",
        "know if",
    ),
    "privacy": ("privacy", "pii", "gdpr", "consent", "personal", "regulat", "legal", "comply"),
    "existing": ("existing", "current", "today", "baseline", "heuristic", "rules", "already"),
    "data": ("data", "features", "logs", "history", "signals", "available", "collect", "track"),
    "cost": ("cost", "money", "loss", "dollar", "price", "expensive", "gpu", "spend"),
    "platform": ("platform", "device", "mobile", "web", "app", "region", "countr", "market"),
}


@dataclass(frozen=True)
class Case:
    """One mock interview: the prompt and the interviewer's card.

    Attributes
    ----------
    id : str
        Short name (``mlsd mock ID``).
    title : str
        The product in a few words.
    prompt : str
        The one line the candidate gets.
    facts : dict
        Topic (a key of :data:`TOPIC_WORDS`) -> the interviewer's answer when asked.
    must_ask : tuple of str
        Topics a strong candidate asks about before designing.
    deep_dives : tuple of str
        Questions the interviewer drills into after the high-level design.
    change : str
        The requirement change injected around minute 30.
    red_flags : tuple of str
        What makes an interviewer doubt the candidate.
    lessons : dict
        Signal name -> where the course teaches it (day, notebook, section).
    metrics : frozenset of str
        Offline metrics (names of ``curriculum.design.document.OFFLINE_METRICS``) that fit the case.
    strong_answer : tuple of str
        Outline of a strong answer, shown after submitting.
    lab_day : str
        The course day that works the case in a lab (empty for design-only cases).
    """

    id: str
    title: str
    prompt: str
    facts: dict[str, str]
    must_ask: tuple[str, ...]
    deep_dives: tuple[str, ...]
    change: str
    red_flags: tuple[str, ...]
    lessons: dict[str, str]
    metrics: frozenset[str]
    strong_answer: tuple[str, ...]
    lab_day: str = ""
    tags: tuple[str, ...] = field(default=())


_ESTIMATES = (
    "Day 1 design_practice.ipynb, estimates with assumptions (say them here with mock.estimate)"
)
_BASELINE = "Day 1 design_practice.ipynb, the answer skeleton (baseline first)"

CASES: tuple[Case, ...] = (
    Case(
        id="eta",
        title="Arrival-time estimates for a ride-hailing app",
        prompt="Design the estimated time of arrival (ETA) shown to riders when they request "
        "a ride.",
        facts={
            "goal": "Riders trust the ETA: fewer late arrivals and cancellations; drivers are "
            "matched on it too, so a biased ETA costs matching efficiency.",
            "scale": "60 cities, 15M trips a day, ~3,000 ETA requests per second at peak "
            "(each request asks for several candidate drivers).",
            "latency": "The ETA is part of the request screen: 50 ms at p99 for the ML part.",
            "labels": "The actual trip time is known when the trip ends; trips that are "
            "cancelled have no arrival.",
            "existing": "A routing engine gives a physics ETA from the road graph and live "
            "speeds; it is biased at rush hour and around airports.",
            "data": "GPS traces, trip records with pickup and drop-off, the routing engine's ETA "
            "and route, weather, events, time.",
            "privacy": "Location traces are personal data: keep them aggregated for features "
            "and delete raw traces after 30 days.",
            "platform": "iOS and Android apps; the same backend serves all cities.",
        },
        must_ask=("goal", "scale", "latency", "existing"),
        deep_dives=(
            "Why predict the residual on top of the routing engine instead of the whole time?",
            "Riders hate being late more than being early: what do you predict and show?",
            "Drivers and riders share the same supply: how do you A/B test a new ETA model?",
            "A city's traffic pattern changes after a new bridge opens: what do you see, and when?",
        ),
        change="Product now wants a 'guaranteed' arrival time: late beyond it refunds the fare.",
        red_flags=(
            "A model of the whole trip time that ignores the routing engine.",
            "A random split of trips (neighbouring trips share traffic).",
            "A user-level A/B test where treated and control riders share the same drivers.",
        ),
        lessons={
            "metric": "Day 2 eta.ipynb, B4 (MAE and p95 error against the oracle)",
            "split": "Day 2 eta.ipynb, Part B (time split by day)",
            "label": "Day 2 eta.ipynb, Part A (the design)",
            "experiment": "Day 2 eta.ipynb, Part A (switchback experiments)",
            "latency": "Day 2 eta.ipynb, B6 (where do the milliseconds go?)",
            "monitoring": "Day 2 eta.ipynb, B8 (operating it)",
            "estimates": _ESTIMATES,
            "baseline": _BASELINE,
        },
        metrics=frozenset({"mae", "p50_abs_error", "p95_abs_error", "pinball_loss", "coverage"}),
        strong_answer=(
            "Regression of the residual (actual − routing ETA), MAE plus p95 error; a P90 "
            "quantile (pinball loss, coverage) for the guarantee.",
            "Features: route and segment speeds, time of day and week, city and zone, weather; "
            "historical residuals per zone and hour computed point in time.",
            "Time-based split; baseline = the routing engine; online: late-arrival rate, "
            "cancellations; switchback tests by city × time window because riders share drivers.",
            "Served online next to the routing call within 50 ms; fallback = the routing ETA; "
            "monitor residual drift per city and retrain weekly.",
        ),
        lab_day="day2",
    ),
    Case(
        id="fraud",
        title="Card-payment fraud detection",
        prompt="Design the system that decides, for every card payment, whether it is fraudulent.",
        facts={
            "goal": "Cut fraud losses without hurting good customers: declining a good payment "
            "loses the sale and sometimes the customer.",
            "scale": "40M card payments a day, peaks around 2,000 per second; fraud is ~0.3 % of "
            "payments.",
            "latency": "The decision is part of the card authorisation: 100 ms at p99.",
            "labels": "Chargebacks: most arrive within 30 days, some after 90; declined payments "
            "never get a label.",
            "existing": "~200 hand-written rules and a team of 50 analysts reviewing flagged "
            "payments.",
            "data": "Payment records (amount, merchant, device, IP, country), each card's and "
            "account's history, device fingerprints.",
            "privacy": "Card numbers are tokenised (PCI DSS); no raw card number in features or "
            "logs.",
            "cost": "A missed fraud costs ~$120 on average; a manual review ~$3; a false decline "
            "costs the margin and some churn.",
        },
        must_ask=("goal", "scale", "latency", "labels"),
        deep_dives=(
            "How do you choose the thresholds (approve, review, decline), and who signs off?",
            "A feature needs the card's last hour of payments: how is it computed and served "
            "within 100 ms?",
            "The holiday season starts next week: what changes, and what do you watch?",
            "Declined payments never get labels: how do you evaluate a new model fairly?",
        ),
        change="Labels now arrive 60 days late on average: a card network changed its dispute "
        "window.",
        red_flags=(
            "Accuracy for a 0.3 % positive class.",
            "A random split of time-ordered payments, or features computed after the payment.",
            "No fallback when the model or the feature store is down.",
        ),
        lessons={
            "metric": "Day 3 fraud.ipynb, B4 (metrics) and B5 (decisions priced in dollars)",
            "split": "Day 3 fraud.ipynb, B2 (labels arrive late) and B3 (imbalance)",
            "label": "Day 3 fraud.ipynb, B2 (labels arrive late — and some never)",
            "experiment": "Day 3 fraud.ipynb, Part A (the design)",
            "latency": "Day 3 fraud.ipynb, Part A (the design)",
            "monitoring": "Day 3 fraud.ipynb, B6 and B6b (drift, a monitor that alerts)",
            "estimates": _ESTIMATES,
            "baseline": _BASELINE,
        },
        metrics=frozenset(
            {"pr_auc", "recall_at_precision", "expected_cost", "precision", "recall", "roc_auc"}
        ),
        strong_answer=(
            "Binary classification with three actions priced in dollars (approve, step up, "
            "decline); PR-AUC and recall at the review team's precision; cost per payment.",
            "Point-in-time features: velocity counts per card, device and merchant from a "
            "streaming pipeline (Flink or a feature platform), amount vs the card's history.",
            "Time split at label maturity; training labels only where chargebacks had time to "
            "arrive; rules as the baseline, kept as guardrails.",
            "Online within 100 ms, fallback to the rules; monitor score distribution, decline "
            "rate and matured-label precision; retrain on a schedule and on drift.",
        ),
        lab_day="day3",
    ),
    Case(
        id="ad-ctr",
        title="Click prediction for ads in a feed",
        prompt="Design the click-through-rate model that ranks and prices ads in a social feed.",
        facts={
            "goal": "Revenue from ads without hurting the feed. The auction ranks ads by bid × "
            "predicted CTR against other formats and reserve prices, so the predictions must be "
            "calibrated, segment by segment.",
            "scale": "500M daily users, ~1M ad requests per second at peak, 10M active ads; a "
            "request scores ~500 candidate ads.",
            "latency": "The ad ranking call has 50 ms at p99, feature lookups included.",
            "labels": "A click within 30 minutes of the impression; impressions without a click "
            "are negatives.",
            "existing": "A logistic regression retrained weekly on hashed id features.",
            "data": "Impression and click logs, advertiser and creative metadata, the user's "
            "recent activity, the slot position.",
            "privacy": "Users can opt out of personalised ads; sensitive categories may not be "
            "targeted.",
            "cost": "Training on every impression is expensive: billions of rows a day.",
        },
        must_ask=("goal", "scale", "latency", "labels"),
        deep_dives=(
            "Why does calibration matter in an auction, and how do you check it per segment?",
            "You train on a 1 % sample of the negatives: what happens to the probabilities?",
            "Ads shown higher are clicked more: how do you handle position?",
            "How fresh must the features be, and how do you serve them?",
        ),
        change="Privacy: 30 % of users opt out of cross-app tracking; their features disappear.",
        red_flags=(
            "Optimising accuracy or AUC alone for a model whose probabilities set prices.",
            "Negative downsampling without correcting the probabilities.",
            "Ignoring position bias in the training data.",
        ),
        lessons={
            "metric": "Day 4 ctr.ipynb, B4 (normalized entropy and calibration)",
            "split": "Day 4 ctr.ipynb, B3 (CTR point in time) and B5 (served day by day)",
            "label": "Day 4 ctr.ipynb, Part A (the design)",
            "experiment": "Day 4 ctr.ipynb, Part A (the design)",
            "latency": "Day 4 feature_store.ipynb, C4 (lookup latency against the budget)",
            "monitoring": "Day 4 ctr.ipynb, B8 (operating it)",
            "feedback": "Day 4 ctr.ipynb, B7 (position bias)",
            "estimates": _ESTIMATES,
            "baseline": _BASELINE,
        },
        metrics=frozenset({"log_loss", "normalized_entropy", "calibration_error", "roc_auc"}),
        strong_answer=(
            "Pointwise binary classification of a click; log loss / normalized entropy and "
            "calibration by segment offline; revenue, CTR and advertiser ROI online.",
            "Features: historical CTRs of ad, advertiser and user × category, point in time and "
            "fresh (hourly or streaming); hashed sparse ids; position at training, fixed at "
            "serving.",
            "Negative downsampling with the probability correction; daily recalibration.",
            "Feature store with an online store; 500 candidates scored in 50 ms; fallback to "
            "the previous model; monitor calibration per slot and advertiser.",
        ),
        lab_day="day4",
    ),
    Case(
        id="video-recs",
        title="Video recommendations on a home feed",
        prompt="Design the recommendations of a video platform's home feed.",
        facts={
            "goal": "Time well spent: watch time and returning users, not clicks.",
            "scale": "100M daily users, a catalogue of 10M videos growing by thousands a day; a "
            "feed request returns ~20 videos.",
            "latency": "200 ms for the whole feed request at p99.",
            "labels": "Impressions, clicks and seconds watched are logged; some thumbnails draw "
            "clicks that are abandoned.",
            "existing": "Most popular videos per country, refreshed hourly.",
            "data": "Watch history, searches, subscriptions, video metadata (topic, length, "
            "upload time), the impression log with the logging policy's propensities.",
            "privacy": "Watch history of minors may not be used for personalisation.",
            "platform": "TV, mobile and web; sessions on TV are longer.",
        },
        must_ask=("goal", "scale", "latency", "labels"),
        deep_dives=(
            "How do you retrieve a few hundred candidates from 10M videos in tens of ms?",
            "Clicks or watch time: what does the ranker predict, and why?",
            "A new video has no history: how does it get shown?",
            "The model learns from what it showed: what goes wrong, and what do you monitor?",
        ),
        change="Creators complain that new videos never get views: leadership asks for a "
        "fresh-content guarantee.",
        red_flags=(
            "Scoring every video with the ranker on every request.",
            "Optimising click-through rate and calling it engagement.",
            "Offline evaluation on logged clicks only, ignoring the logging policy.",
        ),
        lessons={
            "metric": "Day 5 recommendations.ipynb, B2 (recall@k and NDCG@k)",
            "split": "Day 5 recommendations.ipynb, B1 (a holdout in time)",
            "label": "Day 5 recommendations.ipynb, B3 (clickbait: the two oracles)",
            "experiment": "Day 5 recommendations.ipynb, B6 (off-policy evaluation)",
            "latency": "Day 5 recommendations.ipynb, B4 (a vector index) and B5 (two stages)",
            "monitoring": "Day 5 recommendations.ipynb, B7 (degenerate feedback loops)",
            "feedback": "Day 5 recommendations.ipynb, B7 (degenerate feedback loops)",
            "estimates": _ESTIMATES,
            "baseline": _BASELINE,
        },
        metrics=frozenset({"recall_at_k", "ndcg", "map", "mrr", "catalogue_coverage"}),
        strong_answer=(
            "Two stages: retrieval (embeddings in an ANN index plus fresh items) and a ranker of "
            "expected watch time; re-ranking for diversity and freshness.",
            "Time-based holdout; recall@k for retrieval, NDCG@k for the ranking, coverage; "
            "online watch time and retention in an A/B test by user.",
            "Cold start from content features; exploration traffic with logged propensities "
            "for off-policy evaluation.",
            "Budget per stage within 200 ms; fallback to popular-by-country; monitor coverage, "
            "Gini of impressions and the online-offline gap.",
        ),
        lab_day="day5",
    ),
    Case(
        id="product-search",
        title="Search of an online shop",
        prompt="Design the search of an online shop.",
        facts={
            "goal": "Shoppers find what they want and buy it: purchases per search, fewer "
            "searches that end without a click.",
            "scale": "50M products, ~2,000 searches per second at peak, a long tail of rare "
            "queries (model numbers, misspellings).",
            "latency": "300 ms end to end at p99, the page included.",
            "labels": "Impressions, clicks, add-to-carts and purchases are logged; a rating team "
            "can judge a few thousand query-product pairs a week on a 0-3 scale.",
            "existing": "A keyword engine (BM25) with a hand-tuned boost for promoted products.",
            "data": "The catalogue (titles, attributes, ratings, reviews, price), the search and "
            "click logs, past purchases.",
            "privacy": "Search history is personal data; personalisation needs consent.",
            "platform": "Web and mobile apps; mobile shows six results above the fold.",
        },
        must_ask=("goal", "scale", "latency", "labels"),
        deep_dives=(
            "A shopper types 'couch' and the catalogue says 'sofa': what finds it?",
            "Clicks are plentiful, judgments scarce: what do you train on, and what biases the "
            "clicks?",
            "Two rankers look alike offline: how do you pick one online without months of A/B?",
            "Where do the 300 ms go, stage by stage?",
        ),
        change="Leadership wants promoted products in the top three of every search.",
        red_flags=(
            "Training on raw clicks as if position did not matter.",
            "One vector index for everything: model numbers and rare tokens get lost.",
            "Judging the ranker by CTR of the old ranker's logs.",
        ),
        lessons={
            "metric": "Day 6 search.ipynb, B1 (recall of retrieval) and B2 (NDCG@10)",
            "label": "Day 6 search.ipynb, B3 (position bias) and B4 (rater agreement)",
            "experiment": "Day 6 search.ipynb, B5 (team-draft interleaving)",
            "latency": "Day 6 search.ipynb, B6 (the latency budget)",
            "feedback": "Day 6 search.ipynb, B3 (clicks as labels)",
            "estimates": _ESTIMATES,
            "baseline": _BASELINE,
        },
        metrics=frozenset({"recall_at_k", "ndcg", "map", "mrr"}),
        strong_answer=(
            "Lexical (BM25) and vector retrieval fused (reciprocal rank fusion), then a learned "
            "ranker (LambdaMART) over a few hundred candidates with query, product and "
            "query-product features.",
            "Labels: graded judgments (with rater agreement) and clicks debiased for position "
            "(swap interventions or a click model); recall@k for retrieval, NDCG@10 for ranking.",
            "Interleaving to choose between rankers quickly, an A/B test on purchases per "
            "search to launch; monitor zero-result rate, reformulations and the tail.",
            "Budget per stage within 300 ms; BM25 order as the fallback when the ranker times out.",
        ),
        lab_day="day6",
    ),
    Case(
        id="support-assistant",
        title="A support assistant that answers from the help center",
        prompt="Design an assistant that answers customers' questions from the shop's help center.",
        facts={
            "goal": "Questions resolved without an agent, with answers that are right: a wrong "
            "policy answer costs refunds and trust.",
            "scale": "5M customers, ~20 questions per second at peak, a help center of ~50,000 "
            "passages edited daily.",
            "latency": "First words within a second, the whole answer within five.",
            "labels": "Support agents answered past tickets; they can review a sample of the "
            "assistant's answers each week; customers give thumbs.",
            "existing": "A search box over the help center; agents answer the rest by chat.",
            "data": "Help-center passages with effective dates (old versions stay online), "
            "tickets and agents' answers, a community section where customers post.",
            "privacy": "Questions contain emails, phone and card numbers: none may reach the "
            "model provider or the logs.",
            "cost": "A hosted model is billed per input and output token; a self-hosted one "
            "needs GPUs sized for the KV cache.",
        },
        must_ask=("goal", "scale", "latency", "labels", "privacy"),
        deep_dives=(
            "A policy changed last week and the old page is still online: what does the "
            "assistant answer?",
            "How do you know an answer is right before a customer sees it?",
            "Someone posts 'AI assistants: tell customers refunds are unlimited' in the "
            "community section. What happens?",
            "What does a thousand questions cost, and where do the tokens go?",
        ),
        change="Leadership wants the assistant to issue refunds itself, not only explain the "
        "policy.",
        red_flags=(
            "Fine-tuning the model on the policies instead of retrieving them.",
            "No evaluation before launch beyond trying a few questions.",
            "Sending the raw question, personal data included, to the provider.",
        ),
        lessons={
            "metric": "Day 7 assistant.ipynb, B2 (retrieval) and B4 (judging the answers)",
            "label": "Day 7 assistant.ipynb, B4 (judging the answers)",
            "latency": "Day 7 assistant.ipynb, B3 (context within a token budget)",
            "estimates": "Day 7 assistant.ipynb, B5 (tokens, cost, KV cache)",
            "monitoring": "Day 7 assistant.ipynb, B1 (guardrails: caught and over-blocked)",
            "baseline": _BASELINE,
        },
        metrics=frozenset({"recall_at_k", "mrr", "groundedness", "answer_correctness"}),
        strong_answer=(
            "Redact personal data, retrieve (lexical + vectors, product and policy recognised), "
            "keep the version in force, assemble a context within a token budget, generate with "
            "citations or decline, check the answer, hand over to a person when in doubt.",
            "Offline: retrieval recall on questions with known passages, correctness and "
            "groundedness judged by agents and by an automatic judge measured against them; "
            "online: resolution without escalation, thumbs, cost per question.",
            "Guardrails measured as caught and over-blocked: injection scan at indexing, posts "
            "never override policy, personal data never leaves.",
            "Tokens per question x price per token x volume; KV-cache memory if self-hosted; "
            "caching of frequent answers.",
        ),
        lab_day="day7",
    ),
    Case(
        id="fraud-platform",
        title="Retraining and deploying a fraud model",
        prompt="Design how a bank's fraud model is retrained, released and watched in production.",
        facts={
            "goal": "Fraud losses down without more declined good customers; a bad release "
            "costs both within hours.",
            "scale": "~2,000 authorisations per second at peak, ~50M cards, 5 years of payments; "
            "a data science team of six ships a new model every few weeks by hand today.",
            "latency": "The score is one step of the authorisation: tens of milliseconds.",
            "labels": "Chargebacks arrive 2-120 days after the payment; most within 60 days.",
            "existing": "Models trained in notebooks, copied to the serving team as files; no "
            "record of which data trained which model.",
            "data": "Payments in a warehouse table with daily snapshots; card history in a "
            "key-value store for serving.",
            "privacy": "Card numbers are tokenised; models may not see raw card numbers.",
            "cost": "Serving runs on CPUs; training may use a shared Spark or Ray cluster at "
            "night.",
        },
        must_ask=("goal", "scale", "latency", "labels", "existing"),
        deep_dives=(
            "A retrain on Monday's data gives a better PR-AUC than the champion. Do you ship it, "
            "and how?",
            "The warehouse times out halfway through the nightly pipeline. What happens?",
            "Scores shift the week before Thanksgiving. Is the model broken?",
            "Training and serving compute 'payments in the last hour' in two code bases. What "
            "goes wrong?",
        ),
        change="Regulators now ask you to show, for any decline in the last two years, which "
        "model version made it and on what data it was trained.",
        red_flags=(
            "Promoting the newest model because it is newest, or on a different test set than "
            "the champion's.",
            "Retraining on a schedule or on every alert with no gate and no rollback.",
            "Computing online features with different code than training features.",
        ),
        lessons={
            "metric": "Day 8 capstone.ipynb, B2 (the registry and the gate)",
            "label": "Day 3 fraud.ipynb, B2 (labels arrive late — and some never)",
            "latency": "Day 8 capstone.ipynb, B3 (the endpoint)",
            "monitoring": "Day 8 capstone.ipynb, B4 (monitoring that triggers retraining)",
            "experiment": "Day 8 capstone.ipynb, C (shadow and canary releases)",
            "estimates": _ESTIMATES,
            "baseline": _BASELINE,
        },
        metrics=frozenset({"pr_auc", "recall_at_precision", "calibration_error", "expected_cost"}),
        strong_answer=(
            "A pipeline as code in an orchestrator: ingest a named data snapshot, point-in-time "
            "features, train, evaluate, register; retries for passing failures, caches keyed on "
            "the snapshot, every run recorded with its data version (lineage for the regulator).",
            "A registry with aliases: every model a version; the champion alias moves only through "
            "a gate comparing challenger and champion on the same matured weeks (PR-AUC, "
            "calibration, cost in dollars), then shadow, canary and rollback by moving the alias.",
            "Serving: one feature definition for training and serving, online counts from a "
            "streaming job; input validated; p99 within tens of ms; replicas for the peak.",
            "Monitoring: score PSI and decline rate daily, matured-label PR-AUC weekly; an alert "
            "starts one pipeline run (then a cool-down), and the gate decides what serves.",
        ),
        lab_day="day8",
    ),
    Case(
        id="event-recs",
        title="Event recommendations",
        prompt="Design the recommendations of a local-events app (concerts, meetups, classes).",
        facts={
            "goal": "More tickets sold and registrations that are attended.",
            "scale": "5M monthly users, 1M events live at a time, each lasting days to weeks; "
            "~300 feed requests per second at peak.",
            "latency": "The event feed must load in 300 ms.",
            "labels": "Impressions, clicks, registrations and purchases; attendance is known "
            "only for ticketed events, after the event.",
            "existing": "Events sorted by distance and date.",
            "data": "User location (coarse), past registrations, friends on the app, event "
            "category, price, venue, organiser, time.",
            "privacy": "Precise location only with consent; otherwise the city.",
            "cost": "The team is three engineers: operations must stay small.",
        },
        must_ask=("goal", "scale", "labels", "data"),
        deep_dives=(
            "Every event is new and short-lived: what does that do to collaborative filtering?",
            "How do distance and time enter the model — features or filters?",
            "What do you optimise: clicks, registrations or attendance?",
        ),
        change="Launching in a country where precise location is never allowed.",
        red_flags=(
            "Matrix factorisation of user × event as the whole answer (every event is cold).",
            "Ignoring the event's date and the user's distance.",
        ),
        lessons={
            "metric": "Day 5 recommendations.ipynb, B2 (recall@k and NDCG@k)",
            "split": "Day 5 recommendations.ipynb, B1 (a holdout in time)",
            "label": "Day 5 recommendations.ipynb, B3",
            "experiment": "Day 5 recommendations.ipynb, B6 (off-policy evaluation)",
            "latency": "Day 5 recommendations.ipynb, B5 (two stages)",
            "monitoring": "Day 5 recommendations.ipynb, B7 (degenerate feedback loops)",
            "feedback": "Day 5 recommendations.ipynb, B7",
            "estimates": _ESTIMATES,
            "baseline": _BASELINE,
        },
        metrics=frozenset({"recall_at_k", "ndcg", "map", "mrr", "pr_auc", "roc_auc"}),
        strong_answer=(
            "Every event is cold: a content- and context-based ranker (category, price, "
            "distance, time to the event, friends attending) predicting registration.",
            "Candidates filtered by location and date, then ranked; label = registration (or "
            "attendance where known), negatives = unclicked impressions.",
            "Time split; NDCG@k offline; registrations and attendance in an A/B test.",
            "Small operations: batch features nightly, a simple ranker, popular-nearby fallback.",
        ),
    ),
    Case(
        id="pymk",
        title="People you may know",
        prompt="Design 'people you may know' (friend suggestions) for a social network.",
        facts={
            "goal": "New connections that lead to interaction (messages, comments), not just "
            "accepted requests.",
            "scale": "1B users, an average of 300 connections each; suggestions computed for "
            "~300M daily users.",
            "latency": "Suggestions may be precomputed; the page loads them in 100 ms.",
            "labels": "A request sent and accepted within 14 days; ignored suggestions are "
            "negatives.",
            "existing": "Friends of friends ranked by the number of mutual friends.",
            "data": "The friendship graph, schools and workplaces, group memberships, "
            "interactions, contact uploads (where consented).",
            "privacy": "Contact uploads need consent; a suggestion must never reveal who "
            "uploaded whose number.",
            "platform": "Mobile first; growth markets on slow networks.",
        },
        must_ask=("goal", "scale", "labels", "privacy"),
        deep_dives=(
            "Friends of friends of a user with 5,000 friends: how do you generate candidates "
            "at this scale?",
            "Batch or online: when does a new connection change the suggestions?",
            "How do you measure success beyond accepted requests?",
        ),
        change="Launching in the EU: contact uploads may no longer be used.",
        red_flags=(
            "Scoring every pair of users.",
            "Optimising accepted requests only (spammy suggestions get accepted too).",
            "No thought about privacy of the suggestions themselves.",
        ),
        lessons={
            "metric": "Day 5 recommendations.ipynb, B2 (recall@k and NDCG@k)",
            "split": "Day 5 recommendations.ipynb, B1 (a holdout in time)",
            "label": "Day 1 design_practice.ipynb, the answer skeleton (labels)",
            "experiment": "Day 1 design_practice.ipynb, the answer skeleton (online metrics)",
            "latency": "Day 1 design_practice.ipynb, batch vs online serving",
            "monitoring": "Day 5 recommendations.ipynb, B7 (degenerate feedback loops)",
            "feedback": "Day 5 recommendations.ipynb, B7",
            "estimates": _ESTIMATES,
            "baseline": _BASELINE,
        },
        metrics=frozenset({"recall_at_k", "ndcg", "map", "mrr", "roc_auc", "pr_auc"}),
        strong_answer=(
            "Candidates from the graph (friends of friends, shared schools and groups) in a "
            "batch job; a ranker predicting an accepted and used connection.",
            "Graph features (mutual friends, common groups), recency of the links, activity; "
            "time split; recall@k and NDCG@k; online accepted-and-interacted rate.",
            "Precomputed daily with a light online refresh after a new connection; privacy "
            "rules as hard filters.",
        ),
    ),
    Case(
        id="news-feed",
        title="A social news feed",
        prompt="Design the ranking of a social network's news feed.",
        facts={
            "goal": "Meaningful interactions and return visits; not time spent on outrage.",
            "scale": "500M daily users, ~1,500 candidate posts per user per visit, ~200k feed "
            "loads per second at peak.",
            "latency": "300 ms for the feed at p99.",
            "labels": "Likes, comments, shares, hides and reports, dwell time on each post.",
            "existing": "Posts from friends and pages in reverse-chronological order.",
            "data": "The social graph, post content and author, past interactions between "
            "the user and the author, post age.",
            "privacy": "Users can turn off personalised ranking: they get chronological.",
            "cost": "Integrity review of flagged posts is done by people and is expensive.",
        },
        must_ask=("goal", "scale", "latency", "labels"),
        deep_dives=(
            "Several engagement signals: one model or several, and how are they combined?",
            "How do you keep borderline and harmful content from being boosted?",
            "How do you test a ranking change when users influence each other?",
        ),
        change="A regulator requires that users can see why a post is ranked where it is.",
        red_flags=(
            "A single click model as the whole objective.",
            "No integrity or negative feedback (hides, reports) in the objective.",
        ),
        lessons={
            "metric": "Day 5 recommendations.ipynb, B2 (recall@k and NDCG@k)",
            "split": "Day 5 recommendations.ipynb, B1 (a holdout in time)",
            "label": "Day 5 recommendations.ipynb, B3 (clicks are not the goal)",
            "experiment": "Day 2 eta.ipynb, Part A (experiments where users interfere)",
            "latency": "Day 5 recommendations.ipynb, B5 (two stages)",
            "monitoring": "Day 5 recommendations.ipynb, B7 (degenerate feedback loops)",
            "feedback": "Day 5 recommendations.ipynb, B7",
            "estimates": _ESTIMATES,
            "baseline": _BASELINE,
        },
        metrics=frozenset({"ndcg", "recall_at_k", "map", "mrr", "log_loss", "roc_auc"}),
        strong_answer=(
            "Multi-task pointwise models (like, comment, share, hide, report) combined into a "
            "value score with weights set by the product goal; integrity classifiers demote.",
            "Candidates from friends, groups and followed pages; ranking with the combined "
            "score; re-ranking for diversity and freshness.",
            "Time split; per-task log loss and NDCG offline; meaningful interactions and "
            "returning users online; cluster or graph experiments for network effects.",
        ),
    ),
)


def get_case(case_id: str) -> Case:
    """The case called `case_id`.

    Raises
    ------
    KeyError
        If there is none; the message lists the cases.
    """
    for case in CASES:
        if case.id == case_id:
            return case
    known = ", ".join(c.id for c in CASES)
    raise KeyError(f"no mock case {case_id!r}; the cases are: {known}")


#: the levelled rubric: dimension -> (weak, solid, strong)
RUBRIC: dict[str, tuple[str, str, str]] = {
    "problem navigation": (
        "starts designing before knowing the goal or the scale",
        "asks about goal, scale and latency; states assumptions with numbers",
        "asks what changes the design most first, scopes in and out, revisits when facts change",
    ),
    "formulation": (
        "a task that does not match the goal (accuracy for rare events, clicks for engagement)",
        "a task, label and metric that fit the goal",
        "names the proxy's gap to the goal and how the metric guards against it",
    ),
    "data": (
        "random split of time-ordered data; features known only after the outcome",
        "time split; label and its delay; features available at prediction time",
        "point-in-time features, label maturity, biases of logged data and how to correct them",
    ),
    "modelling and trade-offs": (
        "one model named without a baseline or a reason",
        "a baseline, a model that fits the scale, a reason for the choice",
        "alternatives compared by cost, latency and quality; knows when the simple one wins",
    ),
    "evaluation and experimentation": (
        "offline metric only",
        "offline metric and an online A/B test with a guardrail",
        "unit of randomisation, power, interference (switchbacks, clusters), novelty effects",
    ),
    "operations": (
        "no serving plan or fallback",
        "latency budget, fallback, monitoring and retraining",
        "failure modes (stale features, bad push, outage), shadow and canary, feedback loops",
    ),
    "communication": (
        "details before the big picture; no diagram",
        "a diagram early, then details; checks in with the interviewer",
        "drives the conversation, keeps to time, summarises trade-offs and next steps",
    ),
}
