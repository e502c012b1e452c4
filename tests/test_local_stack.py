"""The capstone's stack: offline, in a throw-away folder, and gone when its process is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

CHILD = textwrap.dedent('''
    import os, sys
    from curriculum.local_stack import start_stack, task_runs
    stack = start_stack()
    assert start_stack() is stack  # idempotent
    from prefect import flow, task
    from prefect.cache_policies import INPUTS, TASK_SOURCE
    from prefect.runtime import flow_run
    calls = []

    @task(retries=1, retry_delay_seconds=0, cache_policy=INPUTS + TASK_SOURCE)
    def load(x):
        calls.append(x)
        if len(calls) == 1:
            raise ConnectionError("once")
        return {"value": x + 1}  # Prefect traces objects, not plain numbers, between tasks

    @task
    def double(y):
        return 2 * y["value"]

    @flow
    def pipe(x: int):
        return double(load(x)), str(flow_run.id)

    value, run = pipe(1)
    again, run2 = pipe(1)
    runs, runs2 = task_runs(run), task_runs(run2)
    assert value == again == 4 and len(calls) == 2, (value, again, calls)
    assert list(runs["task"]) == ["load", "double"], runs
    assert runs["run_count"].tolist()[0] == 2 and runs["upstream"].tolist() == [[], ["load"]]
    assert runs2["state"].tolist()[0] == "Cached", runs2
    import mlflow
    assert os.environ["MLFLOW_TRACKING_URI"].startswith("sqlite:///" + str(stack.folder))
    assert os.environ["DO_NOT_TRACK"] == "1" and os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"
    print(stack.folder, stack._server.pid, flush=True)
    if sys.argv[1] == "wait":
        import time
        time.sleep(600)
''')


def run_child(mode: str) -> tuple[subprocess.Popen, str, int]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, mode], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    if not line:
        child.wait()
        pytest.fail(f"the child failed: {child.stderr.read()[-3000:]}")
    folder, pid = line.split()
    return child, folder, int(pid)


def gone(pid: int, within: float = 20.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_a_flow_retries_caches_and_the_stack_leaves_nothing_behind():
    child, folder, server = run_child("exit")
    child.wait(timeout=120)
    assert child.returncode == 0, child.stderr.read()[-3000:]
    assert "Traceback" not in child.stderr.read()
    assert gone(server), "Prefect's server outlived the process that started it"
    assert not Path(folder).exists(), "the stack's folder was left behind"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_server_stops_when_its_process_is_killed():
    child, folder, server = run_child("wait")
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert gone(server), "Prefect's server outlived a killed kernel"
    deadline = time.monotonic() + 20
    while Path(folder).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(folder).exists(), "a killed kernel's stack folder was left behind"


def test_prefect_imported_first_is_a_clear_error():
    code = "import prefect\nfrom curriculum.local_stack import start_stack\nstart_stack()"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0 and "before importing prefect" in out.stderr
