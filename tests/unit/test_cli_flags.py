"""`tollway local` flags that only shape the stack (no stack is started here)."""

from __future__ import annotations

import pytest

from functions.local.cli import parser


def test_gateway_workers_flag_is_read_and_defaults_to_the_stacks_choice():
    assert parser().parse_args(["local", "--gateway-workers", "3"]).gateway_workers == 3
    assert parser().parse_args(["local"]).gateway_workers is None  # Options decides


@pytest.mark.parametrize("bad", ["0", "17", "two", "-1"])
def test_gateway_workers_out_of_range_is_a_usage_error(bad, capsys):
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(["local", "--gateway-workers", bad])
    assert exited.value.code == 2
    assert "gateway workers must be a whole number from 1 to 16" in capsys.readouterr().err
