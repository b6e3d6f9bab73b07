"""Run CPU-heavy stages (parse, extract) in worker processes that are recycled, and abandon a
task that runs too long by replacing the whole pool, so one hostile page cannot stall the rest.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class WorkerPool:
    """A process pool with per-task time limits; workers exit after `tasks_per_worker` tasks."""

    def __init__(self, workers: int, tasks_per_worker: int) -> None:
        self.workers = workers
        self.tasks_per_worker = tasks_per_worker
        self.replaced = 0  # how often a task overran and the pool was rebuilt
        self._pool = self._make()

    def _make(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            max_tasks_per_child=self.tasks_per_worker,
        )

    async def run(self, fn: Callable[..., T], *args: Any, time_limit: float | None = None) -> T:
        """Run `fn(*args)` in a worker; raise TimeoutError after `time_limit` seconds.

        A task that overruns takes its pool down with it; tasks of other feeds that were in
        that pool are run once more in the new one.
        """
        for attempt in range(2):
            pool = self._pool
            future = asyncio.get_running_loop().run_in_executor(pool, fn, *args)
            try:
                return await asyncio.wait_for(future, time_limit)
            except TimeoutError:
                self._replace(pool)
                raise
            except BrokenProcessPool:
                if pool is self._pool:  # broken by a crash of its own, not by our replacing it
                    self._replace(pool)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _replace(self, pool: ProcessPoolExecutor) -> None:
        if pool is not self._pool:
            return
        self.replaced += 1
        self._pool = self._make()
        # Private, but the only way to stop a running task: ProcessPoolExecutor cannot cancel one.
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        logger.warning("a worker task overran its time limit; worker processes replaced")

    def shutdown(self) -> None:
        """Stop the workers, dropping queued tasks."""
        self._pool.shutdown(wait=True, cancel_futures=True)
