"""A real feature store on one machine: Feast with a local provider, DuckDB offline, SQLite online.

Day 4 builds its feature store with Feast (https://docs.feast.dev), the open-source feature store.
This module only sets Feast up the way the course needs it and keeps it quiet:

* :func:`local_store` — a ``FeatureStore`` in a folder of your choice (a throw-away one by
  default, never the repository or the workspace root): ``local`` provider, the DuckDB offline
  store (reads the Parquet files your batch job writes), a SQLite online store;
* :func:`historical_features` — point-in-time retrieval for training, with a clear error for a
  malformed entity frame and the entity frame's row order and index kept;
* :func:`materialize`, :func:`materialize_incremental` and :func:`online_features` — offline →
  online (once for a window, or the nightly top-up of a long-lived store), and lookups at serving
  time, returned as a frame with each value's event timestamp if you ask for it;
* :func:`quiet` — Feast's own warnings, progress bars and prints stay out of your notebook.

Entities, feature views and sources are yours to define with Feast's own classes.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

os.environ.setdefault("FEAST_USAGE", "False")  # no usage telemetry (and no network) from Feast

EVENT_TIMESTAMP = "event_timestamp"


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence Feast while it works: warnings, log lines, progress bars and prints."""
    sink = io.StringIO()
    loggers = [logging.getLogger(name) for name in ("feast", "ibis", "duckdb")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def local_store(folder: str | Path | None = None, *, project: str = "mlsd"):
    """A Feast ``FeatureStore`` on this machine.

    Parameters
    ----------
    folder : str or Path, optional
        Where the registry and the online store (SQLite) live; a new temporary folder if None.
    project : str
        The Feast project name.

    Returns
    -------
    feast.FeatureStore
        Apply your entities and feature views to it with ``store.apply([...])``.
    """
    with quiet():
        from feast import FeatureStore
        from feast.infra.offline_stores.duckdb import DuckDBOfflineStoreConfig
        from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig
        from feast.repo_config import RepoConfig

        root = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="feast-"))
        root.mkdir(parents=True, exist_ok=True)
        config = RepoConfig(
            project=project,
            provider="local",
            registry=str(root / "registry.db"),
            online_store=SqliteOnlineStoreConfig(path=str(root / "online.db")),
            offline_store=DuckDBOfflineStoreConfig(),
            entity_key_serialization_version=3,
            repo_path=str(root),
        )
        return FeatureStore(config=config)


def check_entity_frame(frame: Any, join_keys: Sequence[str]) -> pd.DataFrame:
    """An entity frame as Feast needs it, or a ValueError that names what is wrong.

    It needs every join key and an ``event_timestamp`` column of time-zone-aware times (naive
    times are taken as UTC); times are kept to the microsecond, which is what Feast stores.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"the entity frame must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in [*join_keys, EVENT_TIMESTAMP] if c not in frame.columns]
    if missing:
        raise ValueError(
            f"the entity frame has no column {missing[0]!r} (it needs {list(join_keys)} and "
            f"{EVENT_TIMESTAMP!r}, the time each row is asked about); it has "
            f"{list(frame.columns)}"
        )
    when = frame[EVENT_TIMESTAMP]
    if not pd.api.types.is_datetime64_any_dtype(when):
        raise ValueError(
            f"{EVENT_TIMESTAMP!r} must hold timestamps, not {when.dtype} (use pd.to_datetime)"
        )
    if when.isna().any():
        raise ValueError(f"{EVENT_TIMESTAMP!r} has missing times ({int(when.isna().sum())} rows)")
    for key in join_keys:
        if frame[key].isna().any():
            raise ValueError(f"join key {key!r} has missing values")
    out = frame.copy()
    stamps = when.dt.tz_localize("UTC") if when.dt.tz is None else when.dt.tz_convert("UTC")
    out[EVENT_TIMESTAMP] = stamps.dt.floor("us").astype("datetime64[us, UTC]")
    return out


def historical_features(store, entity_df: pd.DataFrame, features) -> pd.DataFrame:
    """Point-in-time features for `entity_df` (training data), in its own row order and index.

    Each row gets, per feature view, the latest value whose timestamp is at or before the row's
    ``event_timestamp`` and not older than the view's TTL (else a missing value). `features` is a
    list of ``view:feature`` references or a ``feast.FeatureService`` (its on-demand features are
    computed from the retrieved values).

    Raises
    ------
    ValueError
        If the entity frame lacks a join key of the requested views or ``event_timestamp``.
    """
    keys = _join_keys(store, features)
    frame = check_entity_frame(entity_df, keys).reset_index(drop=True)
    frame["__row"] = range(len(frame))
    with quiet():
        out = store.get_historical_features(entity_df=frame, features=_features(features)).to_df()
    out = out.sort_values("__row").drop(columns="__row")
    out.index = entity_df.index
    return out


def materialize(store, start: datetime | pd.Timestamp, end: datetime | pd.Timestamp) -> None:
    """Load feature values with timestamps in [start, end) into the online store (quietly)."""
    with quiet():
        store.materialize(start_date=_utc(start), end_date=_utc(end))


def materialize_incremental(store, end: datetime | pd.Timestamp) -> None:
    """The nightly top-up of a long-lived online store: values from the last run's end to `end`.

    The first run of a view starts one TTL before `end`, as Feast's first run does in production.
    (Feast measures that TTL back from the machine's clock, which would load nothing in the
    course's simulated past, so this function runs the first window itself.) A key keeps the last
    value loaded for it until a newer one replaces it, however old that value grows: Feast does
    not expire it.
    """
    stop = _utc(end)
    with quiet():
        for view in store.list_feature_views():
            if view.most_recent_end_time is None:
                store.materialize(
                    start_date=stop - view.ttl, end_date=stop, feature_views=[view.name]
                )
        store.materialize_incremental(end_date=stop)


def online_features(
    store,
    features,
    entity_rows: Sequence[dict],
    *,
    with_timestamps: bool = False,
) -> pd.DataFrame:
    """Serving-time lookup: the latest materialized values for each entity row, as a frame.

    Parameters
    ----------
    store : feast.FeatureStore
        The store to read.
    features : list of str or feast.FeatureService
        ``view:feature`` references, or a feature service.
    entity_rows : list of dict
        One ``{join key: value}`` per row wanted.
    with_timestamps : bool, default False
        Also return ``<feature>_at`` for each feature: the event timestamp of the value served
        (UTC; NaT when there is none). Feast does not apply a view's TTL when it reads the online
        store, so this is how a reader checks freshness.

    Returns
    -------
    DataFrame
        The join keys and the features, one row per entity row, in order.
    """
    with quiet():
        data = store.get_online_features(
            features=_features(features), entity_rows=list(entity_rows)
        )
        table = pd.DataFrame(data.to_dict(include_event_timestamps=with_timestamps))
    if with_timestamps:
        keys = {key for row in entity_rows for key in row}
        for column in [c for c in table.columns if c.endswith("__ts")]:
            name = column.removesuffix("__ts")
            if name not in keys:
                seconds = table[column].where(table[column] > 0)
                table[f"{name}_at"] = pd.to_datetime(seconds, unit="s", utc=True)
            table = table.drop(columns=column)
    return table


def _utc(value: datetime | pd.Timestamp) -> datetime:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def _features(features):
    """Feast's `features` argument: a FeatureService as it is, references as a list."""
    from feast import FeatureService

    return features if isinstance(features, FeatureService) else list(features)


def _join_keys(store, features) -> list[str]:
    """The join keys of the views `features` come from (references or a feature service).

    On-demand views have none of their own: they are computed from other views' values.
    """
    from feast import FeatureService

    if isinstance(features, FeatureService):
        names = [projection.name for projection in features.feature_view_projections]
    else:
        names = list(dict.fromkeys(f.split(":", 1)[0] for f in features))
    keys: list[str] = []
    with quiet():
        on_demand = {v.name for v in store.list_on_demand_feature_views()}
        for name in names:
            if name in on_demand:
                continue
            view = store.get_feature_view(name)
            for column in view.entity_columns:
                if column.name not in keys:
                    keys.append(column.name)
    return keys
