"""The self-study learner's path in a real browser: `mlsd lab`, Day 0, Validate, `mlsd check` in
JupyterLab's terminal. Debian's Chromium driven by Playwright (`.ci/run` installs both; never a
downloaded browser). Screenshots go to build/e2e/."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from curriculum.syllabus import get_day

from .conftest import ROOT, reference_answer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]
SHOTS = ROOT / "build" / "e2e"
TOKEN = "mlsd-e2e"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def lab(tmp_path):
    """`mlsd lab` on a free local port, in a fresh workspace; yields (url, workspace)."""
    workspace, port = tmp_path / "workspace", _free_port()
    mlsd = Path(sys.executable).parent / "mlsd"
    env = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_CONFIG_DIR",)}
    env["PATH"] = "/usr/bin:/bin"  # mlsd lab must put its own bin/ first for the terminals
    log = (tmp_path / "lab.log").open("wb")
    server = subprocess.Popen(
        [
            str(mlsd),
            "lab",
            "--workspace",
            str(workspace),
            "--no-browser",
            "--",
            "--port",
            str(port),
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.5)
    else:
        server.kill()
    log.close()
    assert server.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
    try:
        yield url, workspace, tmp_path / "lab.log"
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


def _read_saved(path: Path) -> dict:
    """The saved notebook, or {} while JupyterLab is still writing it (the file is then empty or
    cut short: another save can start while we read)."""
    try:
        return json.loads(path.read_text())
    except ValueError:
        return {}


def _holds_the_run(saved: dict) -> bool:
    """Whether the saved notebook has the learner's answer and the outputs of running it."""
    cells = saved.get("cells", [])
    answered = any("np.percentile(errors, q)" in "".join(c["source"]) for c in cells)
    return answered and "Visible tests passed." in json.dumps([c.get("outputs") for c in cells])


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_a_learner_answers_validates_and_checks_day0_in_jupyterlab(course, lab):
    url, workspace, log = lab
    day = get_day("day0")
    spec = day.notebook("orientation.ipynb")
    answer = reference_answer(course, day, spec, "abs_error_percentile")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(90_000)
        page.goto(f"{url}/lab/tree/day0/orientation.ipynb?token={TOKEN}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", state="attached")
        page.wait_for_selector("text=Python 3 (ipykernel) | Idle")
        _shot(page, "1-opened")
        body = page.inner_text("body")
        assert "Would you like to receive official Jupyter news" not in body
        for instructor_tool in ("Create Assignment", "Formgrader", "Nbgrader"):
            assert page.locator(f".lm-MenuBar-item >> text={instructor_tool}").count() == 0

        # answer the first question: the learner types into the answer cell
        cell = page.locator(".jp-CodeCell").filter(has_text="raise NotImplementedError").first
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(answer)
        page.keyboard.press("Escape")
        # run all cells, then save
        page.click(".lm-MenuBar-item >> text=Run")
        page.click(".lm-Menu-itemLabel >> text=Run All Cells")
        page.wait_for_selector("text=Visible contract tests passed", timeout=180_000)
        page.wait_for_selector("text=Python 3 (ipykernel) | Idle")
        page.keyboard.press("Control+s")
        saved_path = workspace / "day0" / "orientation.ipynb"
        deadline = time.monotonic() + 120  # a loaded machine saves slowly: wait for the outputs
        pressed = time.monotonic()
        saved = _read_saved(saved_path)
        while not _holds_the_run(saved) and time.monotonic() < deadline:
            page.wait_for_timeout(500)
            if time.monotonic() - pressed > 15:  # the first press may have landed mid-run
                page.keyboard.press("Escape")  # command mode: Ctrl+S saves the notebook
                page.keyboard.press("Control+s")
                pressed = time.monotonic()
            saved = _read_saved(saved_path)
        _shot(page, "2-ran-all")
        assert saved, "JupyterLab never finished saving the notebook"
        assert _holds_the_run(saved), "the saved notebook lacks the answer or its run's outputs"
        assert "Traceback" not in json.dumps([c.get("outputs", []) for c in saved["cells"]])

        # Validate: tests pass; the unanswered written answer is not a "failure"
        page.click(".jp-NotebookPanel-toolbar >> text=Validate")
        dialog = page.wait_for_selector(".jp-Dialog", timeout=180_000)
        page.wait_for_selector(".jp-Dialog >> text=Validation Results")
        text = dialog.inner_text()
        _shot(page, "3-validated")
        assert "Success! Your notebook passes all the tests." in text, text
        page.click(".jp-Dialog >> button >> text=Ok")

        # mlsd check in JupyterLab's terminal, from the workspace root, by bare name
        page.click(".lm-MenuBar-item >> text=File")
        page.hover(".lm-Menu-itemLabel >> text=New")
        page.click(".lm-Menu-itemLabel >> text=Terminal")
        terminal = page.wait_for_selector(
            ".jp-Terminal .xterm-accessibility-tree", state="attached"
        )
        page.wait_for_timeout(1500)
        page.keyboard.type("mlsd check orientation.ipynb\n")
        page.wait_for_selector(".jp-Terminal >> text=Feedback page", timeout=180_000)
        page.wait_for_timeout(500)
        _shot(page, "4-checked")
        out = " ".join(terminal.inner_text().split())
        assert "command not found" not in out
        assert "Autograded 3/3" in out, out
        assert "Baseline → you → oracle" in out and "of gap" in out, out
        assert "not answered yet" in out  # the written answer: rubric once answered
        feedback = workspace / "day0" / "orientation.feedback.html"
        page.goto(feedback.as_uri())
        _shot(page, "5-feedback")
        summary = page.inner_text(".mlsd-summary")
        assert "3 / 3" in summary and "your model" in summary
        assert page.locator(".jp-Dialog, .jp-ErrorBanner").count() == 0
        browser.close()
    records = json.loads((workspace / ".mlsd" / "progress.json").read_text())
    assert records["day0/orientation.ipynb"]["auto_score"] == 3
    assert "Traceback" not in log.read_text(errors="replace")
