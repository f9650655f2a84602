from __future__ import annotations

import pytest

from molmo.errors import UserError
from molmo.sizes import parse_size


def test_parse_size_units():
    assert parse_size("5GB") == 5 * 10**9 and parse_size("500MiB") == 500 * 2**20
    assert parse_size("1024") == 1024 and parse_size("1.5k") == 1500 and parse_size(7) == 7
    assert parse_size("512MB") == 512_000_000 and parse_size("64KiB") == 65536 and parse_size(" 2 gib ") == 2 * 2**30


@pytest.mark.parametrize("bad", ["", "5XB", "-3MB", "0", "lots", "1.5.2G", 0])
def test_parse_size_rejects_with_the_option_name(bad):
    with pytest.raises(UserError, match="--max-shard-size"):
        parse_size(bad, "--max-shard-size")
