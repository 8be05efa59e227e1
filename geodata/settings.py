"""The one settings object of OneMap, grouped by concern.

Code reads a setting through its group: ``settings.store.database_url``, ``settings.web.port``,
``settings.rules.dog_sightings``. The groups: ``store``, ``city``, ``web``, ``login``, ``demo``,
``twin``, ``rules``, ``mqtt``, ``open311``, ``outreach``, ``analytics``, ``privacy``.

People configure a setting by its *flat name*, the name it had before the grouping: the
environment variable ``ONEMAP_<FLAT_NAME>`` (any case; JSON for dicts and tuples, e.g.
``ONEMAP_OPEN311_API_KEYS='{"miniapp": "key"}'``, ``ONEMAP_CITY_EXTENT='[116.7, 30.9, 118, 32.6]'``)
or the keyword ``Settings(<flat_name>=...)``. The store's URL is also read from plain
``DATABASE_URL``, which wins over ``ONEMAP_DATABASE_URL``. :data:`FLAT_NAMES` is the one table
from flat names to ``group.field``; both the environment and keyword arguments go through it.
Keyword arguments win over the environment. A whole group may also be given as a dict
(``Settings(web={"port": 9000})``), merged over the environment like flat names; a group given
as a model instance replaces the group entirely. Unknown keywords and unknown ``ONEMAP_``
variables are ignored; nothing else of the environment is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

from geodata import city_time

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "ONEMAP_"


class _Group(BaseModel):
    """A group of settings: immutable, so copies of :class:`Settings` may share it."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreSettings(_Group):
    """Where the data lives: an external PostgreSQL/PostGIS server or the embedded one."""

    database_url: str | None = Field(
        default=None,
        description="External PostgreSQL/PostGIS server. Unset: use the embedded store.",
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / ".onemap",
        description="Folder for the embedded PostgreSQL cluster and other local state.",
    )
    read_database_url: str | None = Field(
        default=None,
        description="Hot standbys for read-only work (analyst questions, exports, OGC, "
        "assessment, backtests), comma-separated; unset: everything reads the primary.",
    )
    read_max_lag_s: float = Field(
        default=30.0,
        description="A standby whose replay is further behind than this is not read from.",
    )
    embedded_port: int = Field(default=54329, description="Port of the embedded PostgreSQL.")
    embedded_db: str = Field(default="onemap", description="Database name in the embedded store.")
    pg_bin: Path | None = Field(
        default=None, description="Folder of the PostgreSQL binaries (found automatically)."
    )


class CitySettings(_Group):
    """The city the map shows."""

    name: str = Field(default="合肥市", description="Name of the city, shown in titles.")
    code: str = Field(default="340100", description="Administrative division code of the city.")
    center: tuple[float, float] = Field(
        default=(117.283, 31.861), description="lon, lat of the map's initial centre"
    )
    extent: tuple[float, float, float, float] = Field(
        default=(116.68, 30.93, 117.98, 32.56),
        description="lon/lat bbox (WGS84) the city's data must fall in; imports outside it are "
        "refused. Default: Hefei municipality.",
    )
    metric_epsg: int = Field(default=32650, description="Metric CRS for distances and areas.")
    timezone: str = Field(
        default="Asia/Shanghai",
        description="IANA time zone every time shown to people is given in (pages, CSV reports).",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        city_time.zone(value)
        return value


class WebSettings(_Group):
    """The web app: server, language, map requests and base map."""

    host: str = Field(default="127.0.0.1", description="Address the web app listens on.")
    port: int = Field(default=8050, description="Port the web app listens on.")
    threads: int = Field(default=48, description="Server threads (live streams hold one).")
    live_streams: int = Field(
        default=32, description="Live (SSE) streams per process; more clients poll instead."
    )
    language: str = Field(default="zh", description="Default UI language: zh or en.")
    max_features: int = Field(default=5000, description="Cap on features per layer request.")
    basemap: str = Field(
        default="own",
        description="Base map: own (our data only, offline); pmtiles:PATH or mbtiles:PATH (an "
        "offline raster tile package served from the app's own origin); or the opt-in online "
        "tiles osm, tianditu (needs tianditu_key), amap (GCJ-02, shifted onto WGS84), custom "
        "(basemap_url).",
    )
    basemap_url: str | None = Field(
        default=None, description="Tile URL template {z}/{x}/{y} for basemap=custom."
    )
    tianditu_key: str | None = Field(default=None, description="天地图 key for basemap=tianditu.")
    public_url: str | None = Field(
        default=None,
        description="The address people and GIS clients reach the app at (https://onemap.example"
        ".gov.cn); absolute links (OGC API) are built from it and the Host header is ignored.",
    )
    allowed_hosts: tuple[str, ...] = Field(
        default=(),
        description="Host names (without port) absolute links may be built from when public_url "
        "is unset, besides localhost, 127.0.0.1, ::1 and the listen host; a request naming "
        "another Host gets links to the first of these instead.",
    )


class LoginSettings(_Group):
    """Accounts and sessions (geodata.accounts, api.auth)."""

    session_hours: float = Field(default=12.0, description="A login lasts this long.")
    max_failures: int = Field(
        default=50,
        description="Failed logins in a row that lock an account (all processes, in the store) …",
    )
    lockout_minutes: float = Field(
        default=1.0,
        description="… for this long: short, since anyone may fail for any name (the throttles "
        "below stop guessing first).",
    )
    limit_account_address: str = Field(
        default="10 per 15 minutes",
        description="Failed sign-ins one client address may make for one account (then 429).",
    )
    limit_account: str = Field(
        default="30 per minute",
        description="Failed sign-ins for one account from all addresses (a short window: "
        "bounds how long strangers can keep its owner out).",
    )
    limit_address: str = Field(
        default="100 per 15 minutes",
        description="Failed sign-ins one client address may make for all accounts together.",
    )
    session_key: str = Field(
        default="onemap-session-key-change-me",
        description="Secret signing the sign-in form's CSRF token (HMAC-SHA256). At least 32 "
        "characters outside the demo.",
    )
    cookie_secure: bool = Field(
        default=False,
        description="Mark cookies Secure even when the app sees plain HTTP (behind a TLS proxy). "
        "They are always Secure on a request that arrived over HTTPS.",
    )


class DemoSettings(_Group):
    """The demo city built into an empty store on first run."""

    scale: float = Field(default=1.0, description="Scale of the demo city built on first run.")
    seed: int = Field(default=2024, description="Random seed of the demo city.")


class TwinSettings(_Group):
    """The live twin: readings intake and the background sweep."""

    alarm_thresholds: dict[str, float] = Field(
        default={"gas": 20.0, "smoke": 10.0, "electric": 80.0, "manhole": 15.0},
        description="Per device kind: a reading value at or above this puts the device in alarm "
        "(gas %LEL, smoke obscuration %/m, electric leakage mA, manhole tilt degrees).",
    )
    max_batch: int = Field(default=10_000, description="Most readings per intake batch.")
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        description="Largest accepted POST /api/readings body or MQTT readings message.",
    )
    max_clock_skew_s: float = Field(
        default=300.0, description="Readings stamped further in the future are refused."
    )
    max_age_days: float = Field(
        default=400.0, description="Readings older than this are refused (stale backlog)."
    )
    sweep_interval_s: float = Field(
        default=30.0, description="How often time-based rules and overdue escalation run."
    )
    leader_poll_s: float = Field(
        default=1.0,
        gt=0,
        description="How often each app process checks the leader lock (the once-only duties "
        "move to another process within about this long after the leader dies).",
    )
    heartbeat: bool | None = Field(
        default=None,
        description="Keep the demo city alive (device heartbeats, alarms, residents' reports, "
        "staff handling incidents) and fill the gap on start. Unset: on with the embedded "
        "store (demo mode), off with DATABASE_URL.",
    )
    heartbeat_interval_s: float = Field(
        default=5.0, description="Seconds between two ticks of the demo city's heartbeat."
    )
    heartbeat_refresh_minutes: float = Field(
        default=20.0,
        description="The heartbeat has every device without a gateway report at least this often.",
    )
    heartbeat_catch_up_days: float = Field(
        default=30.0,
        description="On start, at most this many days of a stopped demo city are filled in.",
    )


class RuleSettings(_Group):
    """Parameters of the live twin's early-warning rules (twin/rules)."""

    alarm_max_age_minutes: float = Field(
        default=60.0, description="Smoke/gas alarm readings older than this (late) open nothing."
    )
    door_inactive_hours: float = Field(
        default=24.0, description="Elderly living alone: no door opening for this long (久未出门)."
    )
    door_out_hours: float = Field(
        default=12.0,
        description="Elderly living alone: went out, no return for this long (久出未归).",
    )
    fire_lane_minutes: float = Field(
        default=10.0,
        description="A vehicle detected in a fire lane for this long opens an incident.",
    )
    fire_lane_gap_minutes: float = Field(
        default=3.0, description="Detections further apart than this are not one continuous stay."
    )
    dog_sightings: int = Field(
        default=3, description="Large-dog sightings in one H3 cell (r9) within the window to alert."
    )
    dog_window_hours: float = Field(default=24.0, description="Window of the dog rule.")
    offline_minutes: float = Field(
        default=30.0, description="A device silent for this long is offline (maintenance incident)."
    )
    offline_minutes_by_kind: dict[str, float] = Field(
        default_factory=lambda: {"door": 180.0},
        description="Per device kind, overriding offline_minutes: battery door sensors "
        "heartbeat only every hour or two (JSON in ONEMAP_TWIN_OFFLINE_MINUTES_BY_KIND).",
    )
    offline_grace_minutes: float = Field(
        default=24 * 60.0,
        description="A device bound to a gateway in bulk (gateway add --devices-of-area) that has "
        "not reported since is not judged offline before this long after the binding.",
    )
    offline_gateway_devices: int = Field(
        default=10,
        description="When at least this many devices of one gateway are silent and none of its "
        "devices reports, one incident for the gateway instead of one per device (0: off).",
    )
    source_grace_hours: float = Field(
        default=24.0,
        description="A data source is overdue when its last successful import is older than "
        "its cadence plus this grace.",
    )
    sweep_max_incidents: int = Field(
        default=500, description="Cap on incidents one sweep opens per rule (the rest: next sweep)."
    )


class MqttSettings(_Group):
    """The MQTT readings intake."""

    url: str | None = Field(
        default=None,
        description="External MQTT broker, mqtt://[user:password@]host:port. Unset: OneMap "
        "starts its own Mosquitto on 127.0.0.1 (conf and persistence in <data_dir>/mqtt).",
    )
    port: int = Field(
        default=18830,
        description="Port of the embedded Mosquitto at the data folder's first start (0 or "
        "taken: a free one); kept in <data_dir>/mqtt/kept-port and reused by every later start.",
    )
    topic: str = Field(
        default="onemap/+/readings", description="Topic filter of readings; + is the gateway."
    )
    broker_acl: bool = Field(
        default=False,
        description="The external broker (mqtt_url) authenticates each gateway as the user named "
        "like it and lets it publish only to its own topic: readings without a key in the message "
        "are then accepted. The embedded Mosquitto always does.",
    )
    bin: Path = Field(default=Path("/usr/sbin/mosquitto"), description="Mosquitto binary.")
    batch_size: int = Field(default=2000, description="Readings per intake transaction.")
    batch_wait_s: float = Field(
        default=0.05, description="Longest wait for more messages before an intake batch."
    )


class Open311Settings(_Group):
    """Open311 GeoReport v2 (residents' reports)."""

    api_keys: dict[str, str] = Field(
        default_factory=dict,
        description='Open311 clients allowed to POST, as {"client name": "api key"} (JSON in '
        "ONEMAP_OPEN311_API_KEYS). Empty: every POST is refused with 403.",
    )
    jurisdiction_id: str | None = Field(
        default=None,
        description="If set, a request naming another jurisdiction_id is refused (404).",
    )
    duplicate_radius_m: float = Field(
        default=50.0, description="A report this close to an open one of its category …"
    )
    duplicate_hours: float = Field(
        default=48.0, description="… and this recent is linked to it as a likely duplicate."
    )
    published_precision_deg: float = Field(
        default=0.0005,
        gt=0,
        description="Public requests show lat/long rounded to a multiple of this many degrees "
        "(0.0005° ≈ 55 m north-south, 47 m east-west in Hefei), never the exact point.",
    )
    media_origins: tuple[str, ...] = Field(
        default=(),
        description="Origins (scheme://host[:port]) a report's media_url may point to, e.g. the "
        "app's own public origin; any other media_url is refused (400) and never published. "
        "Empty: no media_url is accepted.",
    )
    limit_key: str = Field(
        default="120 per minute", description="Open311 requests per API key (POST)."
    )
    limit_address: str = Field(
        default="10 per 10 minutes",
        description="Open311 POSTs refused for a missing or wrong api_key, per client address.",
    )
    limit_read_address: str = Field(
        default="300 per minute", description="Open311 reads (GET) per client address."
    )


class OutreachSettings(_Group):
    """Outreach (智能外呼): the audited path personal data leaves by."""

    radius_m: float = Field(
        default=100.0, description="Residents within this many metres of an incident are listed."
    )
    webhook_url: str | None = Field(
        default=None, description="Telephony/SMS provider webhook receiving outreach lists."
    )
    webhook_secret: str = Field(
        default="onemap-outreach-secret-change-me",
        description="HMAC-SHA256 key signing webhook bodies (X-OneMap-Signature). At least 32 "
        "characters outside the demo.",
    )
    timeout_s: float = Field(default=10.0, description="Webhook timeout per attempt.")
    retries: int = Field(
        default=2, description="Further attempts after a failed webhook call (5xx or network)."
    )


class AnalyticsSettings(_Group):
    """Forecasts, coverage and analyst questions (analytics)."""

    dask_scheduler: str | None = Field(
        default=None,
        description="Address of a Dask scheduler (tcp://host:8786) that runs the forecast and "
        "backtest jobs. Unset: they run in-process.",
    )
    forecast_refresh_hours: float = Field(
        default=24.0,
        description="The app's background loop stores a new risk forecast when the newest is "
        "older than this (0: never; python -m analytics forecast runs one by hand).",
    )
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
    heavy_global_limit: int = Field(
        default=4,
        ge=1,
        description="Most heavy requests (analyst questions, exports, assessment downloads) the "
        "app runs at once; more answer 429 with Retry-After. Also the size of their own "
        "connection pool, apart from the one map requests and intake use.",
    )
    heavy_per_user_limit: int = Field(
        default=1,
        ge=1,
        description="Most heavy requests one account (or one anonymous client) runs at once.",
    )
    analyze_rate_per_user: str = Field(
        default="60 per minute", description="Analyst questions (POST /api/analyze) per account."
    )
    export_rate_per_user: str = Field(
        default="20 per minute", description="Exports (GET /api/export) per account."
    )


class PrivacySettings(_Group):
    """Protection of personal data in the store."""

    id_hash_key: str = Field(
        default="onemap-demo-key-change-me",
        description="Secret for the keyed hash (HMAC-SHA256) of ID numbers. At least 32 "
        "characters outside the demo (see docs/privacy.md).",
    )


# The one table from a setting's flat name (``ONEMAP_<NAME>``, ``Settings(<name>=...)``) to
# its group and field. Every field of every group appears exactly once (checked at import).
FLAT_NAMES: dict[str, str] = {
    "database_url": "store.database_url",
    "data_dir": "store.data_dir",
    "read_database_url": "store.read_database_url",
    "read_max_lag_s": "store.read_max_lag_s",
    "embedded_port": "store.embedded_port",
    "embedded_db": "store.embedded_db",
    "pg_bin": "store.pg_bin",
    "city_name": "city.name",
    "city_code": "city.code",
    "city_center": "city.center",
    "city_extent": "city.extent",
    "metric_epsg": "city.metric_epsg",
    "timezone": "city.timezone",
    "host": "web.host",
    "port": "web.port",
    "web_threads": "web.threads",
    "live_streams": "web.live_streams",
    "language": "web.language",
    "max_features": "web.max_features",
    "basemap": "web.basemap",
    "basemap_url": "web.basemap_url",
    "tianditu_key": "web.tianditu_key",
    "public_url": "web.public_url",
    "allowed_hosts": "web.allowed_hosts",
    "session_hours": "login.session_hours",
    "login_max_failures": "login.max_failures",
    "login_lockout_minutes": "login.lockout_minutes",
    "cookie_secure": "login.cookie_secure",
    "login_limit_account_address": "login.limit_account_address",
    "login_limit_account": "login.limit_account",
    "login_limit_address": "login.limit_address",
    "session_key": "login.session_key",
    "demo_scale": "demo.scale",
    "demo_seed": "demo.seed",
    "twin_alarm_thresholds": "twin.alarm_thresholds",
    "twin_max_batch": "twin.max_batch",
    "twin_max_body_bytes": "twin.max_body_bytes",
    "twin_max_clock_skew_s": "twin.max_clock_skew_s",
    "twin_max_age_days": "twin.max_age_days",
    "twin_sweep_interval_s": "twin.sweep_interval_s",
    "twin_leader_poll_s": "twin.leader_poll_s",
    "twin_heartbeat": "twin.heartbeat",
    "twin_heartbeat_interval_s": "twin.heartbeat_interval_s",
    "twin_heartbeat_refresh_minutes": "twin.heartbeat_refresh_minutes",
    "twin_heartbeat_catch_up_days": "twin.heartbeat_catch_up_days",
    "twin_alarm_max_age_minutes": "rules.alarm_max_age_minutes",
    "twin_door_inactive_hours": "rules.door_inactive_hours",
    "twin_door_out_hours": "rules.door_out_hours",
    "twin_fire_lane_minutes": "rules.fire_lane_minutes",
    "twin_fire_lane_gap_minutes": "rules.fire_lane_gap_minutes",
    "twin_dog_sightings": "rules.dog_sightings",
    "twin_dog_window_hours": "rules.dog_window_hours",
    "twin_offline_minutes": "rules.offline_minutes",
    "twin_offline_minutes_by_kind": "rules.offline_minutes_by_kind",
    "twin_offline_grace_minutes": "rules.offline_grace_minutes",
    "twin_offline_gateway_devices": "rules.offline_gateway_devices",
    "twin_sweep_max_incidents": "rules.sweep_max_incidents",
    "twin_source_grace_hours": "rules.source_grace_hours",
    "mqtt_url": "mqtt.url",
    "mqtt_port": "mqtt.port",
    "mqtt_topic": "mqtt.topic",
    "mqtt_bin": "mqtt.bin",
    "mqtt_broker_acl": "mqtt.broker_acl",
    "mqtt_batch_size": "mqtt.batch_size",
    "mqtt_batch_wait_s": "mqtt.batch_wait_s",
    "open311_api_keys": "open311.api_keys",
    "open311_jurisdiction_id": "open311.jurisdiction_id",
    "open311_duplicate_radius_m": "open311.duplicate_radius_m",
    "open311_duplicate_hours": "open311.duplicate_hours",
    "open311_published_precision_deg": "open311.published_precision_deg",
    "open311_media_origins": "open311.media_origins",
    "open311_limit_key": "open311.limit_key",
    "open311_limit_address": "open311.limit_address",
    "open311_limit_read_address": "open311.limit_read_address",
    "outreach_radius_m": "outreach.radius_m",
    "outreach_webhook_url": "outreach.webhook_url",
    "outreach_webhook_secret": "outreach.webhook_secret",
    "outreach_timeout_s": "outreach.timeout_s",
    "outreach_retries": "outreach.retries",
    "dask_scheduler": "analytics.dask_scheduler",
    "forecast_refresh_hours": "analytics.forecast_refresh_hours",
    "coverage_hydrant_m": "analytics.coverage_hydrant_m",
    "coverage_service_walk_m": "analytics.coverage_service_walk_m",
    "coverage_care_tags": "analytics.coverage_care_tags",
    "analyze_timeout_s": "analytics.analyze_timeout_s",
    "analyze_max_features": "analytics.analyze_max_features",
    "analyze_max_distance_m": "analytics.analyze_max_distance_m",
    "analyze_max_polygon_vertices": "analytics.analyze_max_polygon_vertices",
    "heavy_global_limit": "analytics.heavy_global_limit",
    "heavy_per_user_limit": "analytics.heavy_per_user_limit",
    "analyze_rate_per_user": "analytics.analyze_rate_per_user",
    "export_rate_per_user": "analytics.export_rate_per_user",
    "id_hash_key": "privacy.id_hash_key",
}

# Environment variables read before ``ONEMAP_<NAME>`` for a flat name (first found wins).
EXTRA_ENV_NAMES: dict[str, tuple[str, ...]] = {"database_url": ("DATABASE_URL",)}


def env_names(flat_name: str) -> tuple[str, ...]:
    """The environment variables of a flat name, in the order they are looked up."""
    return (*EXTRA_ENV_NAMES.get(flat_name, ()), ENV_PREFIX + flat_name.upper())


def regroup(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with each flat name moved into its group's dict, by :data:`FLAT_NAMES`.

    Other keys (groups, unknown names) stay as they are. A setting given both flat and in its
    group's dict, or flat next to a group given as a model, is refused.
    """
    out = {key: value for key, value in values.items() if key not in FLAT_NAMES}
    for key, value in values.items():
        if key not in FLAT_NAMES:
            continue
        group, field = FLAT_NAMES[key].split(".")
        fields = out.setdefault(group, {})
        if not isinstance(fields, dict) or field in fields:
            raise ValueError(f"{key} is given twice: flat and in {group}")
        out[group] = fields | {field: value}
    return out


class FlatEnvSource(EnvSettingsSource):
    """The environment, read by flat name (:func:`env_names`) and regrouped by :data:`FLAT_NAMES`.

    Values are parsed as pydantic-settings parses them (JSON for dicts and tuples); nothing but
    these names is read, so ``ONEMAP_<GROUP>`` and other unknown variables are ignored.
    """

    def __call__(self) -> dict[str, Any]:
        flat: dict[str, Any] = {}
        for name, target in FLAT_NAMES.items():
            group, field = target.split(".")
            found = (self.env_vars.get(env.lower()) for env in env_names(name))
            value = next((v for v in found if v is not None), None)
            if value is None:
                continue
            info = GROUPS[group].model_fields[field]
            try:
                flat[name] = self.prepare_field_value(name, info, value, False)
            except ValueError as e:
                raise SettingsError(
                    f'error parsing value for field "{name}" from source "{type(self).__name__}"'
                ) from e
        return regroup(flat)


class Settings(BaseSettings):
    """Everything configurable about OneMap, by group. Create once, pass into ``create_app``.

    Keyword arguments use the flat names of :data:`FLAT_NAMES` (or whole groups as dicts).
    """

    model_config = SettingsConfigDict(extra="ignore")

    store: StoreSettings = Field(default_factory=StoreSettings, description="The store.")
    city: CitySettings = Field(default_factory=CitySettings, description="The city.")
    web: WebSettings = Field(default_factory=WebSettings, description="The web app.")
    login: LoginSettings = Field(default_factory=LoginSettings, description="Sign-in.")
    demo: DemoSettings = Field(default_factory=DemoSettings, description="The demo city.")
    twin: TwinSettings = Field(default_factory=TwinSettings, description="Readings intake.")
    rules: RuleSettings = Field(default_factory=RuleSettings, description="Early warnings.")
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="MQTT intake.")
    open311: Open311Settings = Field(default_factory=Open311Settings, description="Open311.")
    outreach: OutreachSettings = Field(default_factory=OutreachSettings, description="Outreach.")
    analytics: AnalyticsSettings = Field(
        default_factory=AnalyticsSettings, description="Analytics."
    )
    privacy: PrivacySettings = Field(default_factory=PrivacySettings, description="Privacy.")

    def __init__(self, **values: Any) -> None:
        super().__init__(**regroup(values))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments over the environment read by flat name (no .env, no secrets dir)."""
        return init_settings, FlatEnvSource(settings_cls)


GROUPS: dict[str, type[BaseModel]] = {
    name: field.annotation
    for name, field in Settings.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
}


def _check_flat_names() -> None:
    """Every field of every group has exactly one flat name, and every flat name a field."""
    fields = {f"{g}.{f}" for g, model in GROUPS.items() for f in model.model_fields}
    targets = list(FLAT_NAMES.values())
    if len(GROUPS) != len(Settings.model_fields) or sorted(targets) != sorted(fields):
        raise RuntimeError("FLAT_NAMES and the settings groups disagree")


_check_flat_names()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read from the environment once."""
    return Settings()
