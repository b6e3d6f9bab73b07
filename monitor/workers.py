"""Run CPU-heavy stages (parse, extract) in worker processes that are recycled, and abandon a
task that runs too long by replacing the whole pool, so one hostile page cannot stall the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

# multiprocessing and the process pool are imported with the first task: a poll that parses
# nothing never needs them.
if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

logger = logging.getLogger(__name__)

T = TypeVar("T")
# How often a worker checks that the service that started it is still alive.
PARENT_CHECK_SECONDS = 0.5


class WorkerPool:
    """A process pool with per-task time limits; workers exit after `tasks_per_worker` tasks.

    No process starts before the first task: a poll that parses nothing costs nothing here.
    """

    def __init__(self, workers: int, tasks_per_worker: int, preload: tuple[str, ...] = ()) -> None:
        self.workers = workers
        self.tasks_per_worker = tasks_per_worker
        self.preload = preload  # modules each worker imports when it starts
        self.replaced = 0  # how often a task overran and the pool was rebuilt
        self._pool: ProcessPoolExecutor | None = None
        self._warming: asyncio.Future[list[bool]] | None = None
        self._warm_pool: ProcessPoolExecutor | None = None
        # At most one task waits per worker: its time limit then covers its own run and at most
        # one task ahead of it, never a long queue, while no worker idles between tasks.
        self._free = asyncio.Semaphore(2 * workers)

    def _make(self) -> ProcessPoolExecutor:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            max_tasks_per_child=self.tasks_per_worker,
            initializer=_import_all,
            initargs=(self.preload, os.getpid()),
        )

    async def _warm_up(self) -> None:
        """Start the current pool's workers before any time limit applies to them.

        Every caller waits for the same warm-up; it runs once per pool.
        """
        from concurrent.futures.process import BrokenProcessPool

        if self._pool is None:
            self._pool = self._make()
        if self._warm_pool is not self._pool or self._warming is None:
            loop = asyncio.get_running_loop()
            self._warm_pool = self._pool
            self._warming = asyncio.gather(
                *(loop.run_in_executor(self._pool, _ready) for _ in range(self.workers))
            )
        with contextlib.suppress(BrokenProcessPool, asyncio.CancelledError):
            await asyncio.shield(self._warming)

    async def run(self, fn: Callable[..., T], *args: Any, time_limit: float | None = None) -> T:
        """Run `fn(*args)` in a worker; raise TimeoutError after `time_limit` seconds.

        A task that overruns takes its pool down with it; a task that was running beside it
        is run once more in the new pool.
        """
        from concurrent.futures.process import BrokenProcessPool

        async with self._free:
            for attempt in range(2):
                await self._warm_up()
                pool = self._pool
                assert pool is not None  # made by the warm-up
                future = asyncio.get_running_loop().run_in_executor(pool, fn, *args)
                try:
                    return await asyncio.wait_for(future, time_limit)
                except TimeoutError:
                    self._replace(pool)
                    raise
                except (BrokenProcessPool, asyncio.CancelledError):
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise  # we are being cancelled, not the worker's future
                    if pool is self._pool:
                        self._replace(pool)
                    if attempt:
                        raise BrokenProcessPool("worker pool broke twice on one task") from None
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
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _import_all(modules: tuple[str, ...], parent: int) -> None:
    # `parent` comes from the service, not os.getppid(): it may have died before we got here.
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    for module in modules:
        importlib.import_module(module)


def _exit_with_parent(parent: int) -> None:
    """End this worker once the service that started it is gone.

    A service killed outright (SIGKILL, OOM) cannot stop its workers, and they would wait on
    the task queue for ever; their parent id changes when they are orphaned.
    """
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _ready() -> bool:
    return True
