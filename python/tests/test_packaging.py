"""pyproject metadata agrees with the library, and the package installs offline."""

import os
import re
import shutil
import subprocess
import sys

import pytest

import ptune
from conftest import PYDIR, REPO


def pyproject_version():
    text = (PYDIR / "pyproject.toml").read_text()
    try:
        import tomllib
        return tomllib.loads(text)["project"]["version"]
    except ImportError:
        return re.search(r'^version\s*=\s*"([^"]+)"', text, re.M).group(1)


def test_pyproject_version_matches_library_and_header():
    header = (REPO / "include" / "ptune" / "ptune.h").read_text()
    assert pyproject_version() == ptune.__version__ == \
        re.search(r'#define PTUNE_VERSION_STRING "([^"]+)"', header).group(1)


def test_import_needs_no_numpy():
    env = dict(os.environ, PYTHONPATH=str(PYDIR))
    code = ("import sys; sys.modules['numpy'] = None\n"
            "import ptune\n"
            "assert 'numpy' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
            "print(ptune.__version__)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ptune.__version__


def test_pip_install_offline(tmp_path):
    import importlib.util
    missing = [m for m in ("pip", "setuptools", "wheel") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip("not installed: %s" % ", ".join(missing))
    src = tmp_path / "src"
    shutil.copytree(PYDIR, src, ignore=shutil.ignore_patterns("__pycache__", "tests", "build", "*.egg-info"))
    target = tmp_path / "site"
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
                        "--no-index", "--target", str(target), str(src)],
                       capture_output=True, text=True, env=env, timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (target / "ptune" / "__init__.py").exists()
    dist = list(target.glob("ptune-*.dist-info"))
    assert dist and dist[0].name == "ptune-%s.dist-info" % ptune.__version__
    env = dict(os.environ, PYTHONPATH=str(target), PTUNE_LIBRARY=ptune.library_path)
    r = subprocess.run([sys.executable, "-c", "import ptune; print(ptune.__file__, ptune.__version__)"],
                       capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    path, version = r.stdout.split()
    assert path.startswith(str(target)) and version == ptune.__version__
