"""Benchmark: readings acknowledged vs stored, and seconds to recover, for each ``kill -9``.

One app (``python app.py``, as ``make run`` starts it) on a fresh data folder with a small demo
city; a gateway with its gas detectors; an MQTT loader (QoS 1, a reading counts as acknowledged
when its message's PUBACK arrives) and an HTTP loader (what a 200 answer accepted) stream
distinct readings. For each fault in turn the loaders run ``--seconds``, the fault is injected,
the app recovers (restarted as ``make run`` would when the fault killed it), the loaders run
``--seconds`` more and stop, and every acknowledged reading is looked up in the store.

- ``none``: no fault (the baseline of the same run);
- ``postgres``: ``kill -9`` of the embedded postmaster (the app restarts it);
- ``app``: ``kill -9`` of the app; started again;
- ``broker``: ``kill -9`` of Mosquitto (the app restarts it);
- ``all``: PostgreSQL, then the app, then the broker; the app started again.

Prints, per fault: acknowledged and stored over MQTT and HTTP, lost, seconds until ready again,
and the acknowledged rate as a ratio of the no-fault run's.

    .venv/bin/python bench/faults.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.faults.harness import (
    AppProcess,
    HttpLoader,
    MqttLoader,
    Readings,
    kill9,
    now_utc,
    settle,
    wait_until,
)

GATEWAY = "bench-faults"
RECOVERY_S = 60.0


def _ready_after(app: AppProcess, killed_at: float) -> float:
    if wait_until(app.ready, RECOVERY_S) is None:
        raise TimeoutError(f"not ready {RECOVERY_S} s after the fault: {app.readyz()}")
    return time.monotonic() - killed_at


def fault_none(app: AppProcess) -> float:
    return 0.0


def fault_postgres(app: AppProcess) -> float:
    old = app.postmaster_pid()
    killed_at = time.monotonic()
    kill9(old)
    wait_until(lambda: not app.ready(), 5)
    return _ready_after(app, killed_at)


def fault_app(app: AppProcess) -> float:
    killed_at = time.monotonic()
    app.kill_app()
    app.start()
    return time.monotonic() - killed_at


def fault_broker(app: AppProcess) -> float:
    killed_at = time.monotonic()
    kill9(app.broker_pid())
    wait_until(lambda: not app.ready(), 5)
    return _ready_after(app, killed_at)


def fault_all(app: AppProcess) -> float:
    killed_at = time.monotonic()
    kill9(app.postmaster_pid())
    time.sleep(1.0)
    app.kill_app()
    time.sleep(0.5)
    kill9(app.broker_pid())
    app.start()
    return time.monotonic() - killed_at


FAULTS: dict[str, Callable[[AppProcess], float]] = {
    "none": fault_none,
    "postgres": fault_postgres,
    "app": fault_app,
    "broker": fault_broker,
    "all": fault_all,
}


def run_fault(app: AppProcess, key: str, serials: list[str], fault: str, seconds: float) -> dict:
    """One fault under load: the counts, the loss and the recovery seconds."""
    since = now_utc() - timedelta(minutes=30)
    readings = Readings(serials, since)
    mqtt = MqttLoader(app.mqtt_port(), GATEWAY, key, readings)
    http = HttpLoader(app.base_url, key, readings)
    started = time.monotonic()
    mqtt.start(), http.start()
    time.sleep(seconds)
    recovery = FAULTS[fault](app)
    time.sleep(seconds)
    mqtt.finish(), http.finish()
    elapsed = time.monotonic() - started
    acked = mqtt.acked | http.acked
    lost = settle(app, GATEWAY, since, acked)
    return {
        "fault": fault,
        "mqtt": len(mqtt.acked),
        "mqtt_stored": len(mqtt.acked) - len(lost & mqtt.acked),
        "http": len(http.acked),
        "http_stored": len(http.acked) - len(lost & http.acked),
        "lost": len(lost),
        "recovery_s": recovery,
        "rate": len(acked) / elapsed,
        "http_answers": dict(sorted(http.statuses.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="load before and after")
    parser.add_argument("--faults", nargs="*", default=list(FAULTS), choices=list(FAULTS))
    args = parser.parse_args()
    with TemporaryDirectory(prefix="onemap-faults-") as folder:
        app = AppProcess(Path(folder))
        try:
            print(f"fresh app ready in {app.start():.1f} s")
            key, serials = app.add_gateway(GATEWAY)
            rows = [run_fault(app, key, serials, f, args.seconds) for f in args.faults]
        finally:
            app.stop()
    baseline = next((r["rate"] for r in rows if r["fault"] == "none"), None)
    print(
        f"{'fault':<9} {'MQTT acked':>10} {'stored':>8} {'HTTP acked':>10} {'stored':>8} "
        f"{'lost':>5} {'recover s':>9} {'acked/s':>8} {'x none':>7}  HTTP answers"
    )
    for r in rows:
        ratio = f"{r['rate'] / baseline:.2f}" if baseline else "-"
        print(
            f"{r['fault']:<9} {r['mqtt']:>10,} {r['mqtt_stored']:>8,} {r['http']:>10,} "
            f"{r['http_stored']:>8,} {r['lost']:>5} {r['recovery_s']:>9.1f} {r['rate']:>8,.0f} "
            f"{ratio:>7}  {r['http_answers']}"
        )


if __name__ == "__main__":
    main()
