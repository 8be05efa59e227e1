"""Where the forecast and backtest jobs run: in this process, or on a Dask cluster.

Both jobs are maps of one module-level function over independent items (one model fit per
horizon and category group; one backtest origin). :func:`map_tasks` runs that map in-process when
no scheduler is named (the default) and on the Dask cluster at ``scheduler`` (the setting
``ONEMAP_DASK_SCHEDULER``) otherwise: the shared inputs are scattered once to every worker, the
items to the workers, one task per item, results gathered in item order — the same numbers
either way, because the same function runs on the same inputs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from threadpoolctl import threadpool_limits
from tqdm import tqdm

IN_PROCESS = "in-process"


def executor_name(scheduler: str | None) -> str:
    """How a run was executed, for the run's record."""
    return f"dask {scheduler}" if scheduler else IN_PROCESS


@lru_cache(maxsize=1)
def one_thread_per_fit() -> None:
    """Run BLAS and OpenMP on one thread in this process from now on, as in a Dask worker
    process (whose nanny sets it so). A multi-threaded BLAS sums in another order and changes
    the last bits of the GLM's coefficients; OpenMP threads of the gradient boosting spin
    against each other on a busy machine (one fit of 22k rows: 24 s with two threads, 2.7 s
    with one, same numbers). Parallelism comes from the tasks (Dask), not from inside a fit.
    Set once and never restored: a per-task ``with`` block races with the other tasks of a
    threaded worker."""
    threadpool_limits(limits=1)


def map_tasks(
    fn: Callable[..., Any],
    items: Sequence[Any],
    scheduler: str | None = None,
    progress: str | None = None,
    **shared: Any,
) -> list[Any]:
    """``[fn(item, **shared) for item in items]``, in-process or on the Dask ``scheduler``;
    with a ``progress`` label, a progress bar on stderr (in-process)."""
    if not scheduler:
        bar = tqdm(items, desc=progress, file=sys.stderr, disable=progress is None, leave=False)
        return [fn(item, **shared) for item in bar]
    from distributed import Client  # only when a cluster is named: distributed is heavy

    with Client(scheduler, set_as_default=False) as client:
        scattered = {k: client.scatter([v], broadcast=True)[0] for k, v in shared.items()}
        inputs = client.scatter(list(items))  # data, not graph: large items travel once
        futures = client.map(fn, inputs, pure=False, **scattered)
        return client.gather(futures)
