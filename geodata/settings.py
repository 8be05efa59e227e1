"""The one settings object of OneMap (env prefix ``ONEMAP_``; plain ``DATABASE_URL`` honoured)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything configurable about OneMap. Create once, pass into ``create_app``."""

    model_config = SettingsConfigDict(env_prefix="ONEMAP_", extra="ignore")

    # --- the store -------------------------------------------------------------------------
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "ONEMAP_DATABASE_URL"),
        description="External PostgreSQL/PostGIS server. Unset: use the embedded store.",
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / ".onemap",
        description="Folder for the embedded PostgreSQL cluster and other local state.",
    )
    embedded_port: int = Field(default=54329, description="Port of the embedded PostgreSQL.")
    embedded_db: str = Field(default="onemap", description="Database name in the embedded store.")
    pg_bin: Path | None = Field(
        default=None, description="Folder of the PostgreSQL binaries (found automatically)."
    )
    id_hash_key: str = Field(
        default="onemap-demo-key-change-me",
        description="Secret for the keyed hash (HMAC-SHA256) of ID numbers. Change in production.",
    )

    # --- the city ----------------------------------------------------------------------------
    city_name: str = "合肥市"
    city_code: str = "340100"
    city_center: tuple[float, float] = Field(
        default=(117.283, 31.861), description="lon, lat of the map's initial centre"
    )
    city_extent: tuple[float, float, float, float] = Field(
        default=(116.68, 30.93, 117.98, 32.56),
        description="lon/lat bbox (WGS84) the city's data must fall in; imports outside it are "
        "refused. Default: Hefei municipality.",
    )
    metric_epsg: int = Field(default=32650, description="Metric CRS for distances and areas.")

    # --- the web app -------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8050
    web_threads: int = Field(default=48, description="Server threads (live streams hold one).")
    live_streams: int = Field(
        default=32, description="Live (SSE) streams per process; more clients poll instead."
    )
    language: str = Field(default="zh", description="Default UI language: zh or en.")
    max_features: int = Field(default=5000, description="Cap on features per layer request.")
    basemap: str = Field(
        default="own",
        description="Base map: own (our data only, offline), or the opt-in online tiles osm, "
        "tianditu (needs tianditu_key), amap (GCJ-02, shifted onto WGS84), custom (basemap_url).",
    )
    basemap_url: str | None = Field(
        default=None, description="Tile URL template {z}/{x}/{y} for basemap=custom."
    )
    tianditu_key: str | None = Field(default=None, description="天地图 key for basemap=tianditu.")
    demo_scale: float = Field(default=1.0, description="Scale of the demo city built on first run.")
    demo_seed: int = 2024

    # --- the live twin: readings intake, MQTT, background services ------------------------
    twin_alarm_thresholds: dict[str, float] = Field(
        default={"gas": 20.0, "smoke": 10.0, "electric": 80.0, "manhole": 15.0},
        description="Per device kind: a reading value at or above this puts the device in alarm "
        "(gas %LEL, smoke obscuration %/m, electric leakage mA, manhole tilt degrees).",
    )
    twin_max_batch: int = Field(default=10_000, description="Most readings per intake batch.")
    twin_max_body_bytes: int = Field(
        default=8 * 1024 * 1024, description="Largest accepted POST /api/readings body."
    )
    twin_max_clock_skew_s: float = Field(
        default=300.0, description="Readings stamped further in the future are refused."
    )
    twin_max_age_days: float = Field(
        default=400.0, description="Readings older than this are refused (stale backlog)."
    )
    twin_sweep_interval_s: float = Field(
        default=30.0, description="How often time-based rules and overdue escalation run."
    )
    mqtt_url: str | None = Field(
        default=None,
        description="External MQTT broker, mqtt://[user:password@]host:port. Unset: OneMap "
        "starts its own Mosquitto on 127.0.0.1 (conf and persistence in <data_dir>/mqtt).",
    )
    mqtt_port: int = Field(default=18830, description="Port of the embedded Mosquitto (0: free).")
    mqtt_topic: str = Field(
        default="onemap/+/readings", description="Topic filter of readings; + is the gateway."
    )
    mqtt_bin: Path = Field(default=Path("/usr/sbin/mosquitto"), description="Mosquitto binary.")
    mqtt_batch_size: int = Field(default=2000, description="Readings per intake transaction.")
    mqtt_batch_wait_s: float = Field(
        default=0.05, description="Longest wait for more messages before an intake batch."
    )

    # --- analytics ----------------------------------------------------------------------------
    dask_scheduler: str | None = Field(
        default=None,
        description="Address of a Dask scheduler (tcp://host:8786) that runs the forecast and "
        "backtest jobs. Unset: they run in-process.",
    )

    # --- Open311 GeoReport v2 (residents' reports) ----------------------------------------
    open311_api_keys: dict[str, str] = Field(
        default_factory=dict,
        description='Open311 clients allowed to POST, as {"client name": "api key"} (JSON in '
        "ONEMAP_OPEN311_API_KEYS). Empty: every POST is refused with 403.",
    )
    open311_jurisdiction_id: str | None = Field(
        default=None,
        description="If set, a request naming another jurisdiction_id is refused (404).",
    )
    open311_duplicate_radius_m: float = Field(
        default=50.0, description="A report this close to an open one of its category …"
    )
    open311_duplicate_hours: float = Field(
        default=48.0, description="… and this recent is linked to it as a likely duplicate."
    )

    # --- outreach (智能外呼): the audited path personal data leaves by ----------------------
    outreach_radius_m: float = Field(
        default=100.0, description="Residents within this many metres of an incident are listed."
    )
    outreach_webhook_url: str | None = Field(
        default=None, description="Telephony/SMS provider webhook receiving outreach lists."
    )
    outreach_webhook_secret: str = Field(
        default="onemap-outreach-secret-change-me",
        description="HMAC-SHA256 key signing webhook bodies (X-OneMap-Signature). Change it.",
    )
    outreach_timeout_s: float = Field(default=10.0, description="Webhook timeout per attempt.")
    outreach_retries: int = Field(
        default=2, description="Further attempts after a failed webhook call (5xx or network)."
    )

    # --- the live twin: early-warning rules (twin/rules) --------------------------------------
    twin_alarm_max_age_minutes: float = Field(
        default=60.0, description="Smoke/gas alarm readings older than this (late) open nothing."
    )
    twin_door_inactive_hours: float = Field(
        default=24.0, description="Elderly living alone: no door opening for this long (久未出门)."
    )
    twin_door_out_hours: float = Field(
        default=12.0,
        description="Elderly living alone: went out, no return for this long (久出未归).",
    )
    twin_fire_lane_minutes: float = Field(
        default=10.0,
        description="A vehicle detected in a fire lane for this long opens an incident.",
    )
    twin_fire_lane_gap_minutes: float = Field(
        default=3.0, description="Detections further apart than this are not one continuous stay."
    )
    twin_dog_sightings: int = Field(
        default=3, description="Large-dog sightings in one H3 cell (r9) within the window to alert."
    )
    twin_dog_window_hours: float = Field(default=24.0, description="Window of the dog rule.")
    twin_offline_minutes: float = Field(
        default=30.0, description="A device silent for this long is offline (maintenance incident)."
    )
    twin_offline_minutes_by_kind: dict[str, float] = Field(
        default_factory=lambda: {"door": 180.0},
        description="Per device kind, overriding twin_offline_minutes: battery door sensors "
        "heartbeat only every hour or two (JSON in ONEMAP_TWIN_OFFLINE_MINUTES_BY_KIND).",
    )
    twin_sweep_max_incidents: int = Field(
        default=500, description="Cap on incidents one sweep opens per rule (the rest: next sweep)."
    )

    forecast_refresh_hours: float = Field(
        default=24.0,
        description="The app's background loop stores a new risk forecast when the newest is "
        "older than this (0: never; python -m analytics forecast runs one by hand).",
    )

    # --- accounts and sessions (geodata.accounts, api.auth) -----------------------------------
    session_hours: float = Field(default=12.0, description="A login lasts this long.")
    login_max_failures: int = Field(
        default=5, description="Failed logins in a row that lock an account …"
    )
    login_lockout_minutes: float = Field(default=15.0, description="… for this long.")
    cookie_secure: bool = Field(
        default=False,
        description="Mark cookies Secure even when the app sees plain HTTP (behind a TLS proxy). "
        "They are always Secure on a request that arrived over HTTPS.",
    )

    # --- coverage and analyst questions (analytics.coverage, analytics.questions) -----------
    coverage_hydrant_m: float = Field(
        default=150.0, description="Buildings farther than this from any hydrant are a gap."
    )
    coverage_service_walk_m: float = Field(
        default=1000.0,
        description="Homes of residents needing care farther than this walk from a community "
        "service centre are a gap (road network with pgRouting, else straight line).",
    )
    coverage_care_tags: tuple[str, ...] = Field(
        default=("elderly_alone", "disabled", "left_behind_child", "needs_care"),
        description="Care tags of the residents the service-centre coverage is about.",
    )
    analyze_timeout_s: float = Field(
        default=10.0, description="Statement timeout of an analyst question (read-only)."
    )
    analyze_max_features: int = Field(
        default=5000, description="Most features (rows) an analyst question returns."
    )
    analyze_max_distance_m: float = Field(
        default=5000.0, description="Largest distance an analyst question may ask about."
    )
    analyze_max_polygon_vertices: int = Field(
        default=2000, description="Most vertices of a polygon drawn for an analyst question."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read from the environment once."""
    return Settings()
