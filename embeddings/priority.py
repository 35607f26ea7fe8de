"""Embedding at a lower CPU priority than answering questions.

A rebuild embeds for seconds to hours with every core it can get; on a small machine that
also serves questions, the questions then wait behind it. Lowering the build's priority (its
"nice" value) costs the build nothing on an idle machine and lets the server's threads run
first on a busy one. On Linux the nice value belongs to each thread, so a whole process is
lowered thread by thread; a thread started afterwards inherits it.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

Result = TypeVar("Result")


def _lower(thread_id: int, by: int) -> None:
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(19, current + by))
    except (OSError, AttributeError):  # not Linux, or the thread is gone: run as it is
        pass


def lower_process_priority(by: int) -> None:
    """Every thread of this process ``by`` nice steps lower (a build-only process)."""
    if by <= 0:
        return
    tasks = Path("/proc/self/task")
    if tasks.is_dir():
        for task in tasks.iterdir():
            if task.name.isdigit():
                _lower(int(task.name), by)
    elif hasattr(os, "nice"):
        os.nice(by)


def run_lowered(work: Callable[[], Result], by: int) -> Result:
    """``work()`` in a thread of its own, ``by`` nice steps lower, on one torch thread: for a
    rebuild inside a process that keeps answering questions, which keep the other cores and
    their own priority. Exceptions propagate to the caller."""
    if by <= 0:
        return work()
    outcome: list[Result] = []
    failure: list[BaseException] = []

    def lowered() -> None:
        _lower(threading.get_native_id(), by)
        try:
            outcome.append(_on_one_torch_thread(work))
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)

    # The caller's context variables go along: Gradio finds its progress bar through them.
    context = contextvars.copy_context()
    worker = threading.Thread(
        target=context.run, args=(lowered,), name="byline-build-embedding", daemon=True
    )
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return outcome[0]


def _on_one_torch_thread(work: Callable[[], Result]) -> Result:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return work()
    finally:
        torch.set_num_threads(before)
