"""Builds embed at a lower CPU priority than questions; the settings that say how much."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from embeddings.priority import run_lowered
from qa.errors import InputError
from qa.settings import Settings
from tests.conftest import REPO

linux_only = pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="Linux nice")


def _nice(thread_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread_id)


@linux_only
def test_run_lowered_runs_on_a_lower_thread_with_one_torch_thread() -> None:
    import torch

    mine = _nice(threading.get_native_id())
    threads_before = torch.get_num_threads()

    def work() -> tuple[int, int, int]:
        return threading.get_native_id(), _nice(threading.get_native_id()), torch.get_num_threads()

    worker, nice, torch_threads = run_lowered(work, 5)
    assert worker != threading.get_native_id()
    assert nice == min(19, mine + 5) and torch_threads == 1
    assert _nice(threading.get_native_id()) == mine  # the caller keeps its priority
    assert torch.get_num_threads() == threads_before


def test_run_lowered_sees_the_callers_context_variables() -> None:
    """Gradio's progress bar is found through context variables; the worker must see them."""
    import contextvars

    event = contextvars.ContextVar("event", default="none")
    event.set("rebuild-42")
    assert run_lowered(event.get, 5) == "rebuild-42"


def test_run_lowered_raises_the_work_error_and_zero_runs_in_place() -> None:
    def fail() -> None:
        raise ValueError("no windows")

    with pytest.raises(ValueError, match="no windows"):
        run_lowered(fail, 5)
    assert run_lowered(threading.get_native_id, 0) == threading.get_native_id()


@linux_only
def test_a_build_process_lowers_every_thread() -> None:
    code = (
        "import os, threading, time\n"
        "stop = threading.Event()\n"
        "t = threading.Thread(target=stop.wait); t.start()\n"
        "from embeddings.priority import lower_process_priority\n"
        "lower_process_priority(7)\n"
        "print(sorted({os.getpriority(os.PRIO_PROCESS, int(x)) "
        "for x in os.listdir('/proc/self/task')}))\n"
        "stop.set()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    base = _nice(0)
    assert done.stdout.strip() == f"[{min(19, base + 7)}]", done.stderr


def test_speed_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYLINE_BATCH_MS", "0")
    monkeypatch.setenv("BYLINE_BUILD_NICE", "3")
    monkeypatch.setenv("BYLINE_WINDOW_OVERLAP", "0")
    settings = Settings.resolve()
    assert (settings.batch_ms, settings.build_nice, settings.window_overlap) == (0, 3, False)
    monkeypatch.delenv("BYLINE_WINDOW_OVERLAP")
    assert Settings.resolve().window_overlap is True
    monkeypatch.setenv("BYLINE_BATCH_MS", "soon")
    with pytest.raises(InputError, match="BYLINE_BATCH_MS must be a number .* got 'soon'"):
        Settings.resolve()
    monkeypatch.setenv("BYLINE_BATCH_MS", "2")
    monkeypatch.setenv("BYLINE_BUILD_NICE", "25")
    with pytest.raises(InputError, match="BYLINE_BUILD_NICE must be a whole number from 0 to 19"):
        Settings.resolve()
