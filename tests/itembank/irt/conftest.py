from pathlib import Path

import numpy as np
import pytest

from itembank.irt.data import read_responses_csv

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "responses"


@pytest.fixture(scope="session")
def lsat7():
    return read_responses_csv(DATA_DIR / "lsat7.csv")


@pytest.fixture(scope="session")
def lsat6():
    return read_responses_csv(DATA_DIR / "lsat6.csv")


@pytest.fixture
def rng():
    return np.random.default_rng(20261124)
