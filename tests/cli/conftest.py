"""A small demo city built by the CLI, per test module (the instance holds its secret and demo
people), and `run` to call placecode against it."""

from __future__ import annotations

import pytest

from tests.cli.test_cli import placecode
from tests.conftest import SECRET


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    instance = tmp_path_factory.mktemp("cli-city")
    result = placecode("demo", "--preset", "small", "--quiet", tmp_path=instance,
                       env={"PLACECODE_SECRET_KEY": SECRET})
    assert result.returncode == 0, result.stderr
    return instance


def run(city, *args):
    return placecode(*args, tmp_path=city, env={"PLACECODE_SECRET_KEY": SECRET})
