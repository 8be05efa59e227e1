"""Where the forecast and backtest jobs run: in this process, or on a Dask cluster.

Both jobs are maps of one module-level function over independent items (one model fit per
horizon and category group; one backtest origin). :func:`map_tasks` runs that map in-process when
no scheduler is named (the default) and on the Dask cluster at ``scheduler`` (the setting
``ONEMAP_DASK_SCHEDULER``) otherwise: the shared inputs are scattered once to every worker, the
items to the workers, one task per item, results gathered in item order — the same numbers
either way, because the same function runs on the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

IN_PROCESS = "in-process"


def executor_name(scheduler: str | None) -> str:
    """How a run was executed, for the run's record."""
    return f"dask {scheduler}" if scheduler else IN_PROCESS


def map_tasks(
    fn: Callable[..., Any],
    items: Sequence[Any],
    scheduler: str | None = None,
    **shared: Any,
) -> list[Any]:
    """``[fn(item, **shared) for item in items]``, in-process or on the Dask ``scheduler``."""
    if not scheduler:
        return [fn(item, **shared) for item in items]
    from distributed import Client  # only when a cluster is named: distributed is heavy

    with Client(scheduler, set_as_default=False) as client:
        scattered = {k: client.scatter([v], broadcast=True)[0] for k, v in shared.items()}
        inputs = client.scatter(list(items))  # data, not graph: large items travel once
        futures = client.map(fn, inputs, pure=False, **scattered)
        return client.gather(futures)
