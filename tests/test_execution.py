"""The main job on the real curriculum: every source notebook runs top to bottom at its quick
(papermill) parameters, executed once in the grader, its reference solution earns every
autograded point, its executed notebook is written, and a lab's headline model beats its
baseline."""

from __future__ import annotations

import csv
import json

import pytest

from curriculum.cli import main
from curriculum.report import read_headlines
from curriculum.syllabus import SYLLABUS


@pytest.mark.parametrize("day", SYLLABUS, ids=[d.id for d in SYLLABUS])
def test_main_job_runs_and_grades_each_day(day, tmp_path, capsys):
    code = main(["run", day.id, "--quick", "--output", str(tmp_path)])
    out = capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert [r["notebook"] for r in rows] == [nb.filename for nb in day.notebooks]
    for row in rows:
        assert row["status"] == "ok", f"{day.id}/{row['notebook']}: {row['error']}"
        assert row["auto_score"] == row["auto_max"] and float(row["auto_max"]) > 0, row
        executed = json.loads((tmp_path / day.id / row["notebook"]).read_text())
        cells = [c for c in executed["cells"] if c["cell_type"] == "code"]
        assert all(c.get("execution_count") for c in cells if "".join(c["source"]).strip()), (
            f"{day.id}/{row['notebook']}: the written notebook is not the executed one")
        for h in read_headlines(executed):
            better = h.model <= h.baseline if h.lower_is_better else h.model >= h.baseline
            assert better, f"{day.id}: the reference model does not beat the baseline: {h}"
    assert code == 0
    assert "Curriculum run" in out and day.id in out
