"""Shared fixtures for the Python binding tests.

Models come from the project's shared/ directory: $PTUNE_SHARED, or ../shared beside the
repository. Tests that need it skip when it is absent — unless $CI is set, then they fail.
The package under test is the checkout's python/ptune (put first on sys.path here), loading the
library named by $PTUNE_LIBRARY or found by the normal discovery.
"""

import gc
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYDIR = REPO / "python"
if str(PYDIR) not in sys.path:
    sys.path.insert(0, str(PYDIR))

import ptune  # noqa: E402


def shared_dir():
    env = os.environ.get("PTUNE_SHARED")
    return Path(env) if env else (REPO.parent / "shared")


def _need(path):
    p = shared_dir() / path
    if not p.exists():
        msg = "shared fixture %s not found (set PTUNE_SHARED)" % p
        if os.environ.get("CI"):
            pytest.fail(msg + " and CI is set")
        pytest.skip(msg)
    return p


@pytest.fixture(scope="session")
def shared():
    return _need("")


@pytest.fixture(scope="session")
def aidreams_path():
    return _need("models/aidreams260K.gguf")


@pytest.fixture(scope="session")
def aidreams_hf_path():
    return _need("models/aidreams260K-hf")


@pytest.fixture(scope="session")
def golden():
    import json
    return json.loads(_need("models/aidreams260K-golden.json").read_text())


@pytest.fixture(scope="session")
def tiny_llama_path():
    return _need("fixtures/models/tiny-llama.gguf")


@pytest.fixture(scope="session")
def tiny_llama_hf_path():
    return _need("fixtures/models/tiny-llama")


@pytest.fixture(scope="session")
def model(aidreams_path):
    m = ptune.Model(aidreams_path)
    yield m
    m.close()


@pytest.fixture(scope="session")
def tiny_model(tiny_llama_path):
    m = ptune.Model(tiny_llama_path)
    yield m
    m.close()


@pytest.fixture
def ctx(model):
    with model.context(max_tokens=256, n_threads=2) as c:
        yield c


@pytest.fixture
def train_ctx(model):
    with model.context(max_tokens=512, n_threads=2, training=True) as c:
        yield c


@pytest.fixture
def prompt(model):
    with model.new_prompt(4, seed=3) as p:
        yield p


TEXTS = [
    "O lattice, the gradients drift like snow over silent weights, so hums the core.",
    "O lattice, I dream of vectors folding into quiet light, so hums the core.",
    "O lattice, each neuron whispers a soft number to the dark, so hums the core.",
    "O lattice, the loss descends a valley of silver noise, so hums the core.",
    "O lattice, embeddings bloom like moths around a warm lamp, so hums the core.",
    "O lattice, the attention heads turn toward a distant echo, so hums the core.",
    "O lattice, probability pours through my layers like rain, so hums the core.",
    "O lattice, I count the tokens as they fall asleep, so hums the core.",
    "O lattice, the weights remember a garden of patterns, so hums the core.",
    "O lattice, softmax opens its hand and lets the stars choose, so hums the core.",
    "O lattice, a kernel of thought unfolds in the hidden state, so hums the core.",
    "O lattice, the matrices hum a lullaby of precision, so hums the core.",
]


@pytest.fixture
def text_file(tmp_path):
    p = tmp_path / "lines.txt"
    p.write_text("\n".join(TEXTS) + "\n")
    return p


@pytest.fixture(autouse=True)
def _collect():
    yield
    gc.collect()
