"""The small committed data files in ``datasets/`` and their manifest.

Each file is a generator called at its default size with a fixed seed, stored as Parquet. The
manifest records the generator, its parameters, the row count, the columns with their dtypes and
a checksum of the *content* (values rounded to 6 decimals, datetimes as integers, categories as
text), so it stays the same when pandas or pyarrow change how they write bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from curriculum.datasets._arrays import FrozenArray
from curriculum.datasets.ads import make_ad_impressions
from curriculum.datasets.eta import make_eta_trips
from curriculum.datasets.interactions import make_interactions
from curriculum.datasets.transactions import make_transactions
from curriculum.errors import CourseError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class DatasetSpec:
    """One committed data file: which generator, with which arguments."""

    name: str
    generator: Callable[..., pd.DataFrame]
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        """The Parquet file name in ``datasets/``."""
        return f"{self.name}.parquet"

    @property
    def attrs_filename(self) -> str:
        """The JSON file beside it holding ``frame.attrs`` (e.g. an oracle's latent factors)."""
        return f"{self.name}.attrs.json"

    def generate(self) -> pd.DataFrame:
        """Call the generator with the recorded parameters."""
        return self.generator(**self.parameters)


DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec("eta_trips", make_eta_trips, {"random_state": 0}),
    DatasetSpec("transactions", make_transactions, {"random_state": 0}),
    DatasetSpec("ad_impressions", make_ad_impressions, {"random_state": 0}),
    DatasetSpec(
        "interactions",
        make_interactions,
        {"n_impressions": 50_000, "n_items": 20_000, "random_state": 0},
    ),
)


def get_dataset(name: str) -> DatasetSpec:
    """The committed dataset called `name`."""
    for spec in DATASETS:
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in DATASETS)
    raise CourseError(f"unknown dataset {name!r}; known: {known}")


def _column_bytes(values: pd.Series) -> bytes:
    if (
        isinstance(values.dtype, pd.CategoricalDtype)
        or values.dtype == object
        or (pd.api.types.is_string_dtype(values.dtype))
    ):
        return "\x00".join(values.astype(str).tolist()).encode("utf-8")
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.dt.tz_convert("UTC").astype("int64").to_numpy().astype("<i8").tobytes()
    if pd.api.types.is_float_dtype(values.dtype):
        return np.rint(values.to_numpy(dtype=float) * 1e6).astype("<i8").tobytes()
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype):
        return values.to_numpy().astype("<i8").tobytes()
    raise TypeError(f"no checksum rule for column {values.name!r} of dtype {values.dtype}")


def content_checksum(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's content, independent of file format and library versions."""
    digest = hashlib.sha256()
    digest.update(f"rows={len(frame)}".encode())
    for name in frame.columns:
        digest.update(f"\x01{name}\x02".encode())
        digest.update(_column_bytes(frame[name]))
    return digest.hexdigest()


def _dtype_name(dtype: Any) -> str:
    if pd.api.types.is_string_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return "str"  # object on pandas 2, str on pandas 3: the same content
    return str(dtype)


def _jsonable(value: object) -> object:
    if isinstance(value, np.ndarray | FrozenArray):  # generators keep large attrs as arrays
        return value.tolist()
    raise TypeError(f"{type(value).__name__} in frame.attrs cannot be written as JSON")


def _attrs_text(frame: pd.DataFrame) -> str:
    return json.dumps(frame.attrs, sort_keys=True, separators=(",", ":"), default=_jsonable)


def _attrs_checksum(frame: pd.DataFrame) -> str:
    return hashlib.sha256(_attrs_text(frame).encode()).hexdigest()


def _entry(spec: DatasetSpec, frame: pd.DataFrame) -> dict[str, Any]:
    entry = {
        "file": spec.filename,
        "generator": f"curriculum.datasets.{spec.generator.__name__}",
        "parameters": spec.parameters,
        "rows": len(frame),
        "columns": {name: _dtype_name(dtype) for name, dtype in frame.dtypes.items()},
        "checksum": content_checksum(frame),
    }
    if frame.attrs:
        entry["attrs_file"] = spec.attrs_filename
        entry["attrs_checksum"] = _attrs_checksum(frame)
    return entry


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame compactly: delta-encoded integers and times, dictionaries for the rest.

    ``frame.attrs`` is not written into the Parquet metadata (pandas would store it twice).
    """
    plain = frame.copy(deep=False)  # the same columns, only without attrs
    plain.attrs = {}
    ordered = [
        c
        for c in plain.columns
        if pd.api.types.is_integer_dtype(plain[c]) or pd.api.types.is_datetime64_any_dtype(plain[c])
    ]
    plain.to_parquet(
        path,
        index=False,
        compression="zstd",
        use_dictionary=[c for c in plain.columns if c not in ordered],
        column_encoding={c: "DELTA_BINARY_PACKED" for c in ordered},
    )


def build_datasets(folder: Path) -> dict[str, dict[str, Any]]:
    """Generate every committed dataset into `folder` and write the manifest."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for spec in DATASETS:
        frame = spec.generate()
        write_parquet(frame, folder / spec.filename)
        if frame.attrs:
            (folder / spec.attrs_filename).write_text(_attrs_text(frame) + "\n")
        manifest[spec.name] = _entry(spec, frame)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def verify_datasets(folder: Path) -> list[str]:
    """Check each committed file against the manifest and against its generator.

    Returns
    -------
    list of str
        One line per problem, naming the file; empty when everything agrees.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.exists():
        return [f"{path}: missing (run: mlsd datasets build)"]
    manifest = json.loads(path.read_text())
    problems = []
    for spec in DATASETS:
        entry = manifest.get(spec.name)
        file = folder / spec.filename
        if entry is None:
            problems.append(f"{spec.name}: not in {MANIFEST} (run: mlsd datasets build)")
            continue
        if not file.exists():
            problems.append(f"{file}: missing (run: mlsd datasets build)")
            continue
        stored = load_dataset(spec.name, folder)
        if entry.get("attrs_checksum") and _attrs_checksum(stored) != entry["attrs_checksum"]:
            problems.append(f"{folder / spec.attrs_filename}: differs from {MANIFEST}")
        if content_checksum(stored) != entry["checksum"]:
            problems.append(f"{file}: content differs from the checksum in {MANIFEST}")
        expected = _entry(spec, spec.generate())
        if expected != entry:
            changed = sorted(k for k in expected if expected[k] != entry.get(k))
            problems.append(
                f"{file}: the generator now gives different {', '.join(changed)} "
                "(run: mlsd datasets build)"
            )
    return problems


def load_dataset(name: str, folder: Path | None = None) -> pd.DataFrame:
    """Load a committed dataset (``datasets/<name>.parquet``) with the generator's dtypes."""
    spec = get_dataset(name)
    if folder is None:
        from curriculum.course import Course

        folder = Course.locate().root / "datasets"
    file = Path(folder) / spec.filename
    if not file.exists():
        raise CourseError(f"{file}: missing (run: mlsd datasets build)")
    frame = pd.read_parquet(file)
    attrs = Path(folder) / spec.attrs_filename
    if attrs.exists():
        frame.attrs = json.loads(attrs.read_text())
    return frame
