"""Seeds, as in the C++ suites (test/support/Seed.h): every test draws its
inputs from its own seed, a hash of the run's base seed and the test's node
id, so a test draws the same inputs however the suite is filtered. The base
is $ROTARY_TEST_SEED, else the project's fixed default, so that CI is
reproducible; scripts/soak reruns the suites with fresh bases."""

import os
import zlib

import pytest
import torch

#: test/support/Seed.h's kDefaultTestSeed.
DEFAULT_BASE_SEED = 20261205


def base_seed() -> int:
    """The run's base seed: $ROTARY_TEST_SEED, else the fixed default."""
    return int(os.environ.get("ROTARY_TEST_SEED", DEFAULT_BASE_SEED))


def seed_for(nodeid: str) -> int:
    """The seed of the test `nodeid` for this run's base seed."""
    return (base_seed() * 0x9E3779B1 ^ zlib.crc32(nodeid.encode())) % 2**63


@pytest.fixture(autouse=True)
def seed(request) -> int:
    """Seeds torch for the test and prints how to replay it."""
    value = seed_for(request.node.nodeid)
    torch.manual_seed(value)
    print(f"seed {value} (base ROTARY_TEST_SEED={base_seed()})")
    return value
