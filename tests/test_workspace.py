"""mlsd lab: the learner's workspace gets new files and keeps edited ones."""

from __future__ import annotations

from curriculum.cli import main
from curriculum.workspace import prepare_workspace


def test_prepare_workspace_copies_then_never_overwrites(course, tmp_path):
    workspace = tmp_path / "ws"
    first = prepare_workspace(course, workspace)
    released = sorted(
        p.relative_to(course.root / "release") for p in (course.root / "release").rglob("*.ipynb")
    )
    assert sorted(p.relative_to(workspace) for p in first.copied) == released
    edited = first.copied[0]
    edited.write_text("my work in progress")
    (edited.parent / "notes.txt").write_text("mine")
    second = prepare_workspace(course, workspace)
    assert second.copied == []
    assert edited in second.kept
    assert edited.read_text() == "my work in progress"
    assert (edited.parent / "notes.txt").read_text() == "mine"


def test_lab_command_sets_up_without_starting_a_server(course, tmp_path, monkeypatch, capsys):
    started = []
    monkeypatch.setattr("curriculum.workspace.start_lab", lambda *a, **k: started.append(a) or 0)
    workspace = tmp_path / "ws"
    assert main(["lab", "--workspace", str(workspace), "--setup-only"]) == 0
    assert not started
    assert any(workspace.rglob("*.ipynb"))
    assert main(["lab", "--workspace", str(workspace), "--no-browser"]) == 0
    assert started, "mlsd lab should start JupyterLab when not --setup-only"
    assert "existing files kept" in capsys.readouterr().out


def test_workspace_that_is_a_file_is_refused(course, tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["lab", "--workspace", str(target), "--setup-only"]) == 2
    assert "not a folder" in capsys.readouterr().err
