"""Parsing attribute columns into typed values, vectorised, with a reason for each bad value."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geodata.ingest.schema import Field

NULL_TEXT = {"", "na", "n/a", "nan", "null", "none", "nat", "-"}
TRUE_TEXT = {"true", "t", "yes", "y", "1", "是", "-1"}
FALSE_TEXT = {"false", "f", "no", "n", "0", "否"}


def is_missing(series: pd.Series) -> np.ndarray:
    """True for NULL/NaN and for text that means "no value" (``""``, ``NA``, ``null`` …)."""
    missing = series.isna().to_numpy(dtype=bool)
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        text = series.astype(str).str.strip().str.lower()
        missing = missing | text.isin(NULL_TEXT).to_numpy(dtype=bool)
    return missing


def _text_value(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class Parsed:
    """Typed values of one column (None where missing) and the reasons of the bad ones."""

    def __init__(self, values: list, errors: dict[int, str]) -> None:
        self.values = values
        self.errors = errors


def parse(field: Field, series: pd.Series, tz: str) -> Parsed:
    """Parse ``series`` as ``field``; missing values become None (required-ness is checked by
    the caller)."""
    missing = is_missing(series)
    if field.kind == "datetime":
        return _parse_datetime(field, series, missing, tz)
    parser = {
        "text": _parse_text, "int": _parse_number, "float": _parse_number,
        "bool": _parse_bool, "vocab": _parse_vocab, "tags": _parse_tags, "secret": _parse_text,
    }[field.kind]  # fmt: skip
    return parser(field, series, missing)


def _plain(series: pd.Series) -> list:
    """The values of ``series`` as a Python list (iterating an Arrow-backed series directly
    costs ~1 µs per value)."""
    return series.to_numpy(dtype=object).tolist()


def _parse_text(field: Field, series: pd.Series, missing: np.ndarray) -> Parsed:
    plain = _plain(series)
    flags = missing.tolist()
    if pd.api.types.infer_dtype(plain, skipna=True) == "string":  # str only: just strip
        values: list = [None if m else v.strip() for v, m in zip(plain, flags, strict=True)]
    else:
        values = [None if m else _text_value(v) for v, m in zip(plain, flags, strict=True)]
    errors = {}
    if field.max_length and values:
        lengths = pc.utf8_length(pa.array(values, pa.large_string())).fill_null(0).to_numpy()
        for i in np.flatnonzero(lengths > field.max_length).tolist():
            errors[i] = f"longer than {field.max_length} characters ({len(values[i])})"
    return Parsed(values, errors)


def _range_error(field: Field, x: float) -> str | None:
    if field.min is not None and x < field.min:
        return f"{x:g} is below the minimum {field.min:g}"
    if field.max is not None and (x >= field.max if field.max_exclusive else x > field.max):
        bound = "below" if field.max_exclusive else "at most"
        return f"{x:g} is out of range (must be {bound} {field.max:g})"
    return None


def _parse_number(field: Field, series: pd.Series, missing: np.ndarray) -> Parsed:
    nums = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    raw = series.to_numpy(dtype=object)
    values: list = []
    errors: dict[int, str] = {}
    want_int = field.kind == "int"
    for i, (x, m) in enumerate(zip(nums, missing, strict=True)):
        if m:
            values.append(None)
            continue
        if not math.isfinite(x):
            errors[i] = f"not a number: {str(raw[i])[:40]!r}"
        elif want_int and not float(x).is_integer():
            errors[i] = f"not a whole number: {raw[i]!r}"
        elif (reason := _range_error(field, x)) is not None:
            errors[i] = reason
        values.append(int(x) if want_int and math.isfinite(x) else float(x))
    return Parsed(values, errors)


def _parse_bool(field: Field, series: pd.Series, missing: np.ndarray) -> Parsed:
    values: list = []
    errors: dict[int, str] = {}
    for i, (v, m) in enumerate(zip(series, missing, strict=True)):
        if m:
            values.append(None)
            continue
        if isinstance(v, bool | np.bool_):
            values.append(bool(v))
            continue
        text = _text_value(v).lower()
        values.append(True if text in TRUE_TEXT else False if text in FALSE_TEXT else None)
        if values[-1] is None:
            errors[i] = f"not yes/no: {v!r}"
    return Parsed(values, errors)


def _parse_datetime(field: Field, series: pd.Series, missing: np.ndarray, tz: str) -> Parsed:
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = series
    else:
        text = series.where(~missing, None)
        stamps = pd.to_datetime(text, errors="coerce", format="mixed")
    if getattr(stamps.dt, "tz", None) is None:
        stamps = stamps.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    raw = series.to_numpy(dtype=object)
    values: list = []
    errors: dict[int, str] = {}
    for i, (s, m) in enumerate(zip(stamps, missing, strict=True)):
        if m:
            values.append(None)
        elif pd.isna(s):
            values.append(None)
            errors[i] = f"not a date/time: {str(raw[i])[:40]!r}"
        else:
            values.append(s.isoformat())
    return Parsed(values, errors)


def _vocab_value(field: Field, value: object) -> str | None:
    text = _text_value(value)
    if text in field.values:
        return text
    key = text.lower()
    for v in field.values:
        if v.lower() == key:
            return v
    return field.synonyms.get(key) or field.synonyms.get(key.replace("_", " "))


def _parse_vocab(field: Field, series: pd.Series, missing: np.ndarray) -> Parsed:
    """Each distinct value is looked up once (files repeat a handful of values)."""
    raw = series.to_numpy(dtype=object)
    codes, uniques = pd.factorize(raw)
    looked_up = [_vocab_value(field, u) or field.fallback for u in uniques.tolist()]
    table = np.array([*looked_up, None], dtype=object)  # code -1 (NaN) → None
    found = table[codes]
    found[missing] = None
    errors = {
        int(i): f"unknown value {raw[i]!r}; expected one of {', '.join(field.values)}"
        for i in np.flatnonzero(~missing & pd.isna(found))
    }
    return Parsed(found.tolist(), errors)


_SPLIT = re.compile(r"[;,|，；、\s]+")


def _parse_tags(field: Field, series: pd.Series, missing: np.ndarray) -> Parsed:
    values: list = []
    errors: dict[int, str] = {}
    for i, (v, m) in enumerate(zip(series, missing, strict=True)):
        if m:
            values.append(None)
            continue
        items = v if isinstance(v, list | np.ndarray) else _SPLIT.split(str(v).strip("{}[] "))
        tags: list[str] = []
        unknown: list[str] = []
        for item in filter(None, (str(x).strip() for x in items)):
            tag = item if item in field.values else field.synonyms.get(item)
            (tags if tag else unknown).append(tag or item)
        values.append(sorted(set(tags)))
        if unknown:
            errors[i] = f"unknown tags {unknown}; expected some of {', '.join(field.values)}"
    return Parsed(values, errors)
