"""Keyed hashing and masking of personal identifiers."""

from geodata.privacy import (
    hash_id_number,
    id_check_digit,
    mask_name,
    mask_phone,
    valid_id_number,
)

# The GB 11643 worked example: 11010519491231002 → check character X.
EXAMPLE = "11010519491231002X"


def test_check_digit_follows_gb_11643():
    assert id_check_digit(EXAMPLE[:17]) == "X"
    assert valid_id_number(EXAMPLE) and valid_id_number(EXAMPLE.lower())
    assert not valid_id_number("110105194912310021")
    assert not valid_id_number("1101051949")


def test_hash_is_keyed_normalised_and_not_the_id():
    h = hash_id_number(EXAMPLE, "key-a")
    assert len(h) == 64 and EXAMPLE not in h
    assert h == hash_id_number(" " + EXAMPLE.lower() + " ", "key-a")
    assert h != hash_id_number(EXAMPLE, "key-b")


def test_masks_keep_only_what_is_needed():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("王秀英") == "王**"
    assert mask_name("李") == "李*"
