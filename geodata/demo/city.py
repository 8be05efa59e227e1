"""Generate the demo city chunk by chunk: the areas first, then one chunk per street office."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import shapely
from shapely.geometry import LineString

from geodata.demo.areas import City, Street, build_city
from geodata.demo.context import GridData, IdCounter
from geodata.demo.devices import make_devices
from geodata.demo.facilities import make_facilities
from geodata.demo.homes import make_homes
from geodata.demo.incidents import make_incidents, reference_time
from geodata.demo.layout import Layout, lay_out
from geodata.demo.orgs import make_orgs
from geodata.demo.people import make_people
from geodata.demo.rand import stream
from geodata.demo.roads import Network, build_network
from geodata.demo.tables import Chunk, new_chunk
from geodata.vocab import ResidentStatus

_PUBLIC = ("社区卫生服务站", "文化活动室", "警务室", "养老服务站", "便民服务站")


def area_chunk(city: City, network: Network, ids: IdCounter) -> Chunk:
    """The governance areas (geometries already in lon/lat) and the street network as one
    chunk. Roads get their area in the store (see :data:`geodata.demo.load.ROAD_AREAS`)."""
    chunk = new_chunk("areas")
    buf = chunk.features["area"]
    buf.metric = False
    for a in city.areas:
        buf.add(
            a.id,
            a.geom,
            a.parent_id,
            a.level,
            a.depth,
            a.code,
            a.name,
            a.name_en,
            a.parent_id,
            a.population,
        )
    roads = chunk.features["road"]
    for seg in network.segments:
        line = LineString(seg.coords)
        roads.add(ids.take("road"), line, None, seg.name, seg.kind, seg.oneway, seg.lanes)
    return chunk


def _service_roads(chunk: Chunk, layout: Layout, ids: IdCounter) -> None:
    """The service roads through the grid's compounds."""
    name = f"{layout.compounds[0].name}内部道路" if layout.compounds else None
    for line in layout.services:
        chunk.features["road"].add(ids.take("road"), line, None, name, "service", False, 1)


def street_chunk(
    street: Street, seed: int, ids: IdCounter, id_hash_key: str, ref: dt.datetime
) -> Chunk:
    """Everything inside one street office: buildings, homes, people, things and incidents,
    with the history ending at ``ref``."""
    chunk = new_chunk(street.area.name)
    seen_communities: dict[int, int] = {}
    for gi, grid in enumerate(street.grids):
        nth = seen_communities.get(grid.community_id, 0)
        seen_communities[grid.community_id] = nth + 1
        rng = stream(seed, "grid", grid.index)
        if nth == 0:
            label = f"{grid.community}党群服务中心"
        elif nth == 1:
            label = f"{grid.community}长者食堂"
        else:
            label = grid.community + _PUBLIC[int(rng.integers(len(_PUBLIC)))]
        layout = lay_out(grid, rng, ids.next.get("building", 1), label)
        ids.take("building", len(layout.buildings))
        _service_roads(chunk, layout, ids)
        homes = make_homes(layout, rng, ids.take("house", 0))
        ids.take("house", len(homes))
        occupied = np.flatnonzero(np.asarray(homes.occupancy) != "vacant")
        rented = np.asarray(homes.occupancy)[occupied] == "rented"
        people = make_people(rng, occupied, rented, grid.district_code, ref, id_hash_key)
        first_res = ids.take("resident", len(people))
        res_ids = np.arange(first_res, first_res + len(people), dtype=np.int64)

        bbuf = chunk.features["building"]
        for b in layout.buildings:
            bbuf.add(
                b.id, b.poly, grid.area.id, b.name, b.address, b.floors, b.height, b.use, b.year
            )
        chunk.features["house"].extend(
            homes.id.tolist(),
            shapely.points(np.column_stack([homes.x, homes.y])),
            grid.area.id,
            [homes.building_id.tolist(), homes.unit.tolist(), homes.floor.tolist(), homes.room,
             homes.floor_area.tolist(), homes.occupancy],
        )  # fmt: skip
        home = np.asarray(people.home, dtype=np.int64)
        chunk.features["resident"].extend(
            res_ids.tolist(),
            shapely.points(np.column_stack([homes.x[home], homes.y[home]])),
            grid.area.id,
            [homes.id[home].tolist(), ["M" if m else "F" for m in people.male], people.birth_year,
             people.role, people.hukou, [ResidentStatus.active] * len(people), people.care_tags],
        )  # fmt: skip
        chunk.plain["resident_identity"].extend(
            zip(res_ids.tolist(), people.names, people.id_hashes, people.phones, strict=True)
        )
        gd = GridData(
            layout=layout,
            homes=homes,
            people=people,
            resident_ids=res_ids,
            ids=ids,
            chunk=chunk,
            ref=ref,
            first_in_community=nth == 0,
            second_in_community=nth == 1,
            first_in_street=gi == 0,
        )
        make_orgs(gd, stream(seed, "orgs", grid.index))
        make_devices(gd, stream(seed, "devices", grid.index))
        make_facilities(gd, stream(seed, "facilities", grid.index))
        make_incidents(gd, stream(seed, "incidents", grid.index))
    return chunk


def generate(
    scale: float, seed: int, id_hash_key: str, anchor: dt.datetime | None = None
) -> Iterator[Chunk]:
    """The demo city as a sequence of chunks (areas first), deterministic in (scale, seed,
    anchor); its history ends at ``anchor`` (default: :func:`reference_time`)."""
    ref = anchor or reference_time(seed)
    if ref.tzinfo is None:
        raise ValueError(f"naive anchor {ref.isoformat()}: give a timezone-aware time")
    city = build_city(scale, seed)
    network = build_network(city)
    ids = IdCounter()
    yield area_chunk(city, network, ids)
    for street in city.streets:
        yield street_chunk(street, seed, ids, id_hash_key, ref)
