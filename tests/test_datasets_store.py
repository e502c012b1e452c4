"""The committed data files: in sync with their generators, content checksums, mlsd datasets."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd

from curriculum.cli import main
from curriculum.datasets.store import (
    DATASETS,
    MANIFEST,
    content_checksum,
    get_dataset,
    load_dataset,
    verify_datasets,
)


def test_committed_files_match_manifest_and_generators(course):
    problems = verify_datasets(course.root / "datasets")
    assert not problems, "\n".join(problems)


def test_committed_files_are_small(course):
    total = sum(p.stat().st_size for p in (course.root / "datasets").iterdir())
    assert total <= 5 * 1024 * 1024, f"datasets/ holds {total / 1e6:.1f} MB; the budget is 5 MB"


def test_loading_a_file_equals_calling_its_generator(course):
    for spec in DATASETS:
        pd.testing.assert_frame_equal(
            load_dataset(spec.name, course.root / "datasets"), spec.generate()
        )


def test_checksum_ignores_float_noise_but_not_content():
    frame = pd.DataFrame({"x": [0.1, 0.2, 0.3], "s": pd.Categorical(["a", "b", "a"])})
    noisy = frame.assign(x=frame["x"] + 1e-12)
    assert content_checksum(frame) == content_checksum(noisy)
    assert content_checksum(frame) != content_checksum(frame.assign(x=[0.1, 0.2, 0.31]))
    assert content_checksum(frame) != content_checksum(frame.assign(s=["a", "b", "b"]))
    assert content_checksum(frame) != content_checksum(frame.rename(columns={"x": "y"}))


def test_verify_names_the_file_that_differs(course, tmp_path, monkeypatch, capsys):
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(course.config_file, root)
    (root / "source").mkdir()
    shutil.copytree(course.root / "datasets", root / "datasets")
    spec = DATASETS[0]
    frame = pd.read_parquet(root / "datasets" / spec.filename)
    column = frame.select_dtypes(np.number).columns[-1]
    frame.loc[0, column] += 1
    frame.to_parquet(root / "datasets" / spec.filename, index=False)
    monkeypatch.setenv("MLSD_COURSE_ROOT", str(root))
    assert main(["datasets", "verify"]) == 1
    assert spec.filename in capsys.readouterr().out
    (root / "datasets" / MANIFEST).unlink()
    assert "missing" in verify_datasets(root / "datasets")[0]
    assert main(["datasets", "build"]) == 0
    assert main(["datasets", "verify"]) == 0


def test_loaded_interactions_keep_the_oracle(course):
    from curriculum.datasets import item_catalogue, oracle_scores

    loaded = load_dataset("interactions", course.root / "datasets")
    fresh = get_dataset("interactions").generate()
    users, items = np.arange(5), np.arange(50)
    np.testing.assert_allclose(
        oracle_scores(loaded, users, items), oracle_scores(fresh, users, items)
    )
    row = loaded.iloc[:3]
    direct = oracle_scores(loaded, row["user_id"].to_numpy(), row["item_id"].to_numpy()).diagonal()
    np.testing.assert_allclose(direct, row["oracle_affinity"], atol=1e-6)
    pd.testing.assert_frame_equal(item_catalogue(loaded), item_catalogue(fresh))
