"""Households and residents with a census-like age structure, and their identifiers.

Household types and their shares are tuned so that ages come out close to China's 7th census
(0–14: ~18 %, 15–59: ~63 %, 60+: ~19 %) with a mean household size of about 2.6. Identifiers
(name, keyed hash of a generated ID number, phone) go to ``resident_identity`` only; the clear
ID number never leaves this module.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from geodata.demo.names import person_names, phone_numbers
from geodata.privacy import hash_id_number, id_check_digit

# type: share of households
HOUSEHOLD_TYPES: dict[str, float] = {
    "single_young": 0.145,
    "single_old": 0.095,
    "couple_young": 0.105,
    "couple_old": 0.105,
    "nuclear1": 0.215,
    "nuclear2": 0.12,
    "three_gen": 0.13,
    "single_parent": 0.04,
    "skip_gen": 0.02,
    "shared": 0.03,
}
_TYPES = tuple(HOUSEHOLD_TYPES)
_P = np.array(list(HOUSEHOLD_TYPES.values())) / sum(HOUSEHOLD_TYPES.values())
HEFEI_REGIONS = (
    "340102",
    "340103",
    "340104",
    "340111",
    "340121",
    "340122",
    "340123",
    "340124",
    "340181",
)


@dataclass
class People:
    """Column lists of the residents of one grid."""

    home: list[int]  # index into the grid's homes
    age: list[int]
    male: list[bool]
    role: list[str]
    hukou: list[str]
    care_tags: list[list[str]]
    birth_year: list[int]
    names: list[str]
    id_hashes: list[str]
    phones: list[str | None]

    def __len__(self) -> int:
        return len(self.home)


def _members(kind: str, r: np.random.Generator) -> list[tuple[int, bool, str]]:
    """(age, male, role) of the members of one household of type ``kind``."""

    def kids(n: int, hi: int = 24) -> list[int]:
        first = int(r.integers(0, hi + 1))
        return [first] + [max(0, first - int(r.integers(2, 9))) for _ in range(n - 1)]

    def couple(age: int) -> list[tuple[int, bool, str]]:
        head_male = r.random() < 0.7
        other = int(np.clip(age + r.integers(-3, 5) * (1 if head_male else -1), 18, 99))
        return [(age, head_male, "head"), (other, not head_male, "spouse")]

    if kind == "single_young":
        return [(int(np.clip(r.normal(33, 10), 20, 59)), r.random() < 0.55, "head")]
    if kind == "single_old":
        return [(int(np.clip(r.gamma(3.0, 4.5) + 60, 60, 99)), r.random() < 0.38, "head")]
    if kind == "couple_young":
        return couple(int(r.choice([r.integers(22, 36), r.integers(45, 60)])))
    if kind == "couple_old":
        return couple(int(np.clip(r.gamma(2.5, 4.5) + 60, 60, 95)))
    if kind in ("nuclear1", "nuclear2", "three_gen", "single_parent"):
        n = 2 if kind == "nuclear2" or (kind == "three_gen" and r.random() < 0.4) else 1
        children = kids(n, 20 if kind == "three_gen" else 24)
        parent_age = min(59, children[0] + int(r.integers(24, 36)))
        if kind == "single_parent":
            out = [(parent_age, r.random() < 0.25, "head")]
        else:
            out = couple(parent_age)
        out += [(a, r.random() < 0.53, "child") for a in children]
        if kind == "three_gen":
            g_age = min(95, parent_age + int(r.integers(24, 32)))
            out.append((g_age, False, "parent"))
            if r.random() < 0.55:
                out.append((min(97, g_age + int(r.integers(0, 4))), True, "parent"))
        return out
    if kind == "skip_gen":
        g_age = int(r.integers(58, 78))
        out = [(g_age, r.random() < 0.45, "head")]
        if r.random() < 0.6:
            out.append((g_age + int(r.integers(-3, 4)), not out[0][1], "spouse"))
        return [*out, (int(r.integers(3, 16)), r.random() < 0.53, "other")]
    n = int(r.integers(2, 4))  # shared flat of young adults
    return [
        (int(r.integers(20, 35)), r.random() < 0.5, "head" if i == 0 else "other") for i in range(n)
    ]


def _id_number(region: str, birth: dt.date, seq: int, male: bool) -> str:
    seq = seq - seq % 2 + (1 if male else 0)  # 17th digit: odd for men, even for women
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_digit(first17)


def make_people(
    rng: np.random.Generator,
    occupied: np.ndarray,
    rented: np.ndarray,
    district_code: str,
    ref: dt.datetime,
    id_hash_key: str,
) -> People:
    """Residents of the occupied homes (indices ``occupied``) of one grid."""
    cols: dict[str, list] = {k: [] for k in ("home", "age", "male", "role", "hukou", "tags")}
    kinds = rng.choice(len(_TYPES), size=len(occupied), p=_P)
    for home, k, is_rented in zip(occupied.tolist(), kinds.tolist(), rented.tolist(), strict=True):
        kind = _TYPES[k]
        members = _members(kind, rng)
        floating = rng.random() < (0.6 if is_rented else 0.07)
        low_income = rng.random() < (0.06 if kind == "single_old" else 0.02)
        alone = len(members) == 1
        for age, male, role in members:
            disabled = rng.random() < 0.008 + 0.0005 * age
            tags = []
            if age >= 60:
                tags.append("elderly")
                if alone:
                    tags.append("elderly_alone")
            if age < 18:
                tags.append("minor")
                if kind == "skip_gen":
                    tags.append("left_behind_child")
            if disabled:
                tags.append("disabled")
            if floating:
                tags.append("floating")
            if low_income:
                tags.append("low_income")
            if (alone and age >= 80) or (disabled and (low_income or age >= 70)):
                tags.append("needs_care")
            cols["home"].append(home)
            cols["age"].append(age)
            cols["male"].append(bool(male))
            cols["role"].append(role)
            cols["hukou"].append("floating" if floating else "local")
            cols["tags"].append(tags)
    n = len(cols["home"])
    ages = np.asarray(cols["age"], dtype=np.int64)
    birth_year = ref.year - ages
    day = rng.integers(0, 365, size=n)
    seq = rng.integers(0, 1000, size=n)
    region = rng.integers(0, len(HEFEI_REGIONS), size=n)
    hashes = []
    for i in range(n):
        birth = dt.date(int(birth_year[i]), 1, 1) + dt.timedelta(days=int(day[i]))
        reg = (
            district_code
            if cols["hukou"][i] == "local" and region[i] < 5
            else HEFEI_REGIONS[region[i]]
        )
        hashes.append(
            hash_id_number(_id_number(reg, birth, int(seq[i]), cols["male"][i]), id_hash_key)
        )
    male_mask = np.asarray(cols["male"], dtype=bool)
    phones: list[str | None] = list(phone_numbers(rng, n))
    no_phone = (ages < 12) | ((ages >= 85) & (rng.random(n) < 0.5))
    for i in np.flatnonzero(no_phone).tolist():
        phones[i] = None
    return People(
        home=cols["home"],
        age=cols["age"],
        male=cols["male"],
        role=cols["role"],
        hukou=cols["hukou"],
        care_tags=cols["tags"],
        birth_year=birth_year.tolist(),
        names=person_names(rng, male_mask),
        id_hashes=hashes,
        phones=phones,
    )
