"""Organisations: property companies, shops, enterprises, schools, offices, party and social
organisations, clinics, each located in (and linked to) a building of its grid."""

from __future__ import annotations

import numpy as np

from geodata.demo.context import GridData, in_building
from geodata.demo.names import FIRM_WORDS, INDUSTRIES, SHOP_BRANDS, SHOP_KINDS

_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_W = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code(kind: str, region: str, serial: int) -> str:
    """A well-formed 统一社会信用代码 (GB 32100 check character) unique per ``serial``."""
    head = {
        "shop": "92",
        "enterprise": "91",
        "social": "52",
        "school": "52",
        "medical": "52",
        "property": "91",
        "government": "11",
    }.get(kind, "93")
    body, n = "", serial
    for _ in range(9):
        body = _USCC[n % 31] + body
        n //= 31
    first17 = head + region + body
    total = sum(_USCC.index(ch) * w for ch, w in zip(first17, _USCC_W, strict=True))
    return first17 + _USCC[(31 - total % 31) % 31]


def make_orgs(gd: GridData, rng: np.random.Generator) -> None:
    """Add the grid's organisations to its chunk."""
    lay, grid = gd.layout, gd.layout.grid
    out = gd.chunk.features["organization"]

    def add(kind: str, name: str, b, employees: int | None) -> None:
        oid = gd.ids.take("organization")
        code = None if kind == "party" else credit_code(kind, grid.district_code, oid)
        out.add(oid, in_building(b, rng), gd.area_id, kind, name, code, b.address, employees, b.id)

    for comp in lay.compounds:
        first = lay.buildings[comp.buildings[0]]
        add("property", f"合肥{comp.name}物业服务有限公司", first, int(rng.integers(8, 40)))
        add("party", f"{comp.name}党支部", first, None)
        if rng.random() < 0.5:
            add("social", f"{comp.name}业主委员会", first, None)
    for b in lay.buildings:
        if b.kind in ("shop", "mixed", "mall"):
            n = {"shop": (1, 4), "mixed": (2, 5), "mall": (8, 20)}[b.kind]
            for _ in range(int(rng.integers(*n))):
                name = str(rng.choice(SHOP_BRANDS)) + str(rng.choice(SHOP_KINDS))
                add("shop", name, b, int(rng.integers(1, 16)))
        elif b.kind == "office":
            for _ in range(int(rng.integers(2, 9))):
                name = f"合肥{rng.choice(FIRM_WORDS)}{rng.choice(INDUSTRIES)}有限公司"
                add("enterprise", name, b, int(rng.lognormal(3.5, 1.0)) + 5)
        elif b.kind == "industrial":
            name = f"合肥{rng.choice(FIRM_WORDS)}制造有限公司"
            add("enterprise", name, b, int(rng.integers(30, 400)))
        elif b.kind == "school":
            add("school", f"合肥市{b.name}", b, int(rng.integers(40, 160)))
        elif b.kind == "public":
            if gd.first_in_community:
                add("government", f"{grid.community}居民委员会", b, int(rng.integers(8, 20)))
                add("party", f"{grid.community}党委", b, None)
                add("social", f"{grid.community}志愿者服务队", b, int(rng.integers(20, 120)))
                if gd.first_in_street:
                    add("government", f"{grid.street}办事处", b, int(rng.integers(60, 150)))
            elif "卫生" in b.label:
                add("medical", b.label, b, int(rng.integers(6, 30)))
            elif rng.random() < 0.5:
                add(
                    "social",
                    grid.community + ("老年协会", "文体协会", "调解委员会")[int(rng.integers(3))],
                    b,
                    None,
                )
