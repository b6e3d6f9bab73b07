"""Bound a piece of work: a deadline, a number of steps, and a flag that ends it early.

Work that runs in a thread cannot be cancelled from outside; it spends from a `Budget` as it
goes and stops with `OverBudget` when time or steps run out, or when the service is stopping.
"""

from __future__ import annotations

import threading
import time

from monitor.errors import OverBudget


class Budget:
    """Seconds and steps a piece of work may take, and a stop flag it obeys.

    `deadline` is a `time.monotonic()` value; `steps` counts whatever the work counts (NEAR
    comparisons); `stop`, once set, ends the work at its next step.
    """

    def __init__(
        self,
        deadline: float | None = None,
        steps: int | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.deadline = deadline
        self.steps_left = steps
        self.stop = stop

    def spend(self, steps: int = 1) -> None:
        """Take `steps` from the budget; raise `OverBudget` when it is spent."""
        if self.steps_left is not None:
            self.steps_left -= steps
            if self.steps_left < 0:
                raise OverBudget("work")
        self.check()

    def check(self) -> None:
        """Raise `OverBudget` when the time is up or the work is to stop."""
        if self.stop is not None and self.stop.is_set():
            raise OverBudget("stopped")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise OverBudget("time")
