"""Every source notebook runs top to bottom with papermill at its quick parameters."""

from __future__ import annotations

import json

import pytest

from curriculum.report import read_headlines
from curriculum.runner import execute_notebook, notebook_run_parameters

from .conftest import NOTEBOOK_IDS, NOTEBOOKS


@pytest.mark.parametrize(("day", "spec"), NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_source_notebook_executes_at_quick_parameters(course, day, spec, tmp_path):
    source = course.source_notebook(day, spec)
    params = notebook_run_parameters(
        source, spec, quick=True, overrides={}, where=f"{day.id}/{spec.filename}"
    )
    output = tmp_path / spec.filename
    seconds, error = execute_notebook(source, output, params)
    assert not error, f"{day.id}/{spec.filename} failed: {error}"
    executed = json.loads(output.read_text())
    for headline in read_headlines(executed):
        better = (
            headline.model <= headline.baseline
            if headline.lower_is_better
            else headline.model >= headline.baseline
        )
        assert better, f"{day.id}: the reference model does not beat the baseline: {headline}"
