"""The binding layer itself: discovery, version, prototypes, struct layouts, status codes,
logging."""

import ctypes
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

import ptune
from ptune import _lib, _structs as S, errors
from conftest import PYDIR, REPO

HEADER = REPO / "include" / "ptune" / "ptune.h"


def header_functions():
    text = HEADER.read_text()
    return set(re.findall(r"PTUNE_API\s+[^;{(]*?\b(ptune_\w+)\s*\(", text))


def test_version_from_library_matches_header():
    m = re.search(r'#define PTUNE_VERSION_STRING "([^"]+)"', HEADER.read_text())
    assert ptune.__version__ == ptune.version_string() == m.group(1)
    major, minor, patch = (int(x) for x in m.group(1).split("."))
    assert ptune.version_number() == major * 10000 + minor * 100 + patch


def test_every_header_function_has_a_prototype():
    declared = header_functions()
    assert len(declared) > 80
    assert declared == set(_lib.PROTOTYPES), (declared ^ set(_lib.PROTOTYPES))
    for name in declared:
        fn = getattr(_lib, name)
        assert fn.argtypes is not None, name


def test_every_header_function_is_used_by_a_wrapper():
    source = "".join(p.read_text() for p in (PYDIR / "ptune").glob("*.py") if p.name != "_lib.py")
    unused = [n for n in sorted(header_functions()) if n not in source]
    assert not unused, "not wrapped: %s" % unused


def test_exports_are_bound_functions():
    nm = shutil.which("nm")
    if not nm:
        pytest.skip("nm not available")
    out = subprocess.run([nm, "-D", "--defined-only", _lib.path], capture_output=True, text=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if " T " in line}
    assert exported <= set(_lib.PROTOTYPES), exported - set(_lib.PROTOTYPES)


@pytest.mark.parametrize("cname", sorted(S.PARAMS_STRUCTS))
def test_params_init_writes_our_struct_size(cname):
    cls, init = S.PARAMS_STRUCTS[cname]
    p = cls()
    getattr(_lib, init)(ctypes.byref(p), ctypes.sizeof(p))
    assert p.struct_size == ctypes.sizeof(cls), cname
    # a caller compiled against an older, smaller struct: nothing past its size is written
    n = ctypes.sizeof(cls) + 16
    buf = (ctypes.c_ubyte * n)(*([0xAB] * n))
    small = min(8, ctypes.sizeof(cls))
    getattr(_lib, init)(ctypes.cast(buf, ctypes.POINTER(cls)), small)
    assert int.from_bytes(bytes(buf[0:4]), sys.byteorder) == small, cname
    assert all(b == 0xAB for b in buf[small:]), cname


def test_struct_layouts_match_the_compiler(tmp_path):
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler to compare layouts with")
    lines = ["#include <stdio.h>", "#include <stddef.h>", '#include "ptune/ptune.h"', "int main(void) {"]
    for cname, cls in S.ALL_STRUCTS.items():
        lines.append('printf("%s size %%zu\\n", sizeof(%s));' % (cname, cname))
        for field, _ in cls._fields_:
            lines.append('printf("%s %s %%zu\\n", offsetof(%s, %s));' % (cname, field, cname, field))
    lines += ["return 0;", "}"]
    src = tmp_path / "probe.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "probe"
    r = subprocess.run([cc, "-std=c99", "-I", str(REPO / "include"), str(src), "-o", str(exe)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split("\n")
    expected = []
    for cname, cls in S.ALL_STRUCTS.items():
        expected.append("%s size %d" % (cname, ctypes.sizeof(cls)))
        for field, _ in cls._fields_:
            expected.append("%s %s %d" % (cname, field, getattr(cls, field).offset))
    assert got[:-1] == expected


def test_status_codes_map_to_exceptions():
    table = {
        -1: ptune.InvalidArgument, -2: ptune.OutOfMemory, -3: ptune.PtuneIOError, -4: ptune.FormatError,
        -5: ptune.Unsupported, -6: ptune.StateError, -7: ptune.CapacityError, -8: ptune.BufferTooSmall,
        -9: ptune.NumericError, -10: ptune.Aborted,
    }
    for code, cls in table.items():
        e = errors.error_for(code, "msg %d" % code)
        assert type(e) is cls and e.status == code and e.message == "msg %d" % code
        assert isinstance(e, ptune.PtuneError) and str(e) == "msg %d" % code
        assert ptune.status_str(code) and ptune.status_str(code) != "unknown status"
        assert e.status_name == ptune.status_str(code)
        with pytest.raises(cls):
            errors.check(code)
    assert ptune.status_str(0) == "ok"
    assert ptune.status_str(-999) == "unknown status"
    e = errors.error_for(-999, "odd")
    assert type(e) is ptune.PtuneError and e.status == -999
    # Pythonic bases
    assert issubclass(ptune.InvalidArgument, ValueError)
    assert issubclass(ptune.PtuneIOError, OSError)
    assert issubclass(ptune.OutOfMemory, MemoryError)
    assert issubclass(ptune.ClosedError, ptune.StateError)
    assert errors.check(0) == 0


def test_last_error_is_read_from_the_failing_call(tmp_path):
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ptune.PtuneIOError) as ei:
        ptune.Model(missing)
    assert str(missing) in ei.value.message
    assert ptune.last_error() == ei.value.message
    # an empty message falls back to the status description
    assert errors.error_for(-6, "").message == ptune.status_str(-6)


def test_last_error_is_per_thread(tmp_path):
    import threading
    with pytest.raises(ptune.PtuneIOError):
        ptune.Model(tmp_path / "main-thread.gguf")
    seen = {}

    def other():
        seen["before"] = ptune.last_error()
        try:
            ptune.Tokenizer.load(tmp_path / "other-thread.json")
        except ptune.PtuneIOError as e:
            seen["err"] = e.message
    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen["before"] == ""
    assert "other-thread.json" in seen["err"]
    assert "main-thread.gguf" in ptune.last_error()


def test_log_callback_receives_library_warnings(model, tmp_path, caplog):
    csv = tmp_path / "d.csv"
    csv.write_text('text\n"a long enough line of text"\n""\n')  # the empty row is skipped, logged
    got = []
    ptune.set_log_callback(lambda level, msg: got.append((level, msg)), ptune.LOG_DEBUG)
    try:
        with model.load_dataset(csv) as ds:
            assert len(ds) == 1
    finally:
        ptune.set_log_callback(None)
    assert any(level == ptune.LOG_WARN for level, _ in got), got
    # removed: nothing more arrives
    n = len(got)
    with model.load_dataset(csv):
        pass
    assert len(got) == n
    # forwarded to `logging`
    import logging
    ptune.log_to_python(min_level=ptune.LOG_WARN)
    try:
        with caplog.at_level(logging.WARNING, logger="ptune"):
            with model.load_dataset(csv):
                pass
        assert any(r.name == "ptune" and r.levelno == logging.WARNING for r in caplog.records)
    finally:
        ptune.set_log_callback(None)


def test_log_callback_exception_is_swallowed(model, tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text('text\n"enough text here"\n""\n')

    def bad(level, msg):
        raise RuntimeError("boom")
    ptune.set_log_callback(bad, ptune.LOG_DEBUG)
    try:
        with model.load_dataset(csv) as ds:
            assert len(ds) == 1
    finally:
        ptune.set_log_callback(None)


def test_set_blas_threads():
    ptune.set_blas_threads(1)
    ptune.set_blas_threads(0)


# ---- discovery (in subprocesses, so this process keeps its library) ------------------------------

def _run(code, env_update, cwd=None, pythonpath=None):
    env = {k: v for k, v in os.environ.items() if k not in ("PTUNE_LIBRARY", "PYTHONPATH")}
    env.update(env_update)
    env["PYTHONPATH"] = str(pythonpath or PYDIR)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, cwd=cwd or "/")


def test_discovery_env_var_is_authoritative(tmp_path):
    bad = tmp_path / "libptune.so.0"
    r = _run("import ptune", {"PTUNE_LIBRARY": str(bad)})
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "$PTUNE_LIBRARY" in r.stderr and str(bad) in r.stderr
    r = _run("import ptune; print(ptune.library_path)", {"PTUNE_LIBRARY": _lib.path})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == _lib.path


def test_discovery_env_var_not_libptune(tmp_path):
    import ctypes.util as cu
    libc = cu.find_library("c")
    if not libc:
        pytest.skip("no libc name")
    r = _run("import ptune", {"PTUNE_LIBRARY": libc})
    assert r.returncode != 0 and "not libptune" in r.stderr


def test_discovery_package_relative_and_failure_listing(tmp_path):
    pkg = tmp_path / "site" / "ptune"
    shutil.copytree(PYDIR / "ptune", pkg, ignore=shutil.ignore_patterns("__pycache__", "libptune*"))
    # nothing next to the package, no checkout build two levels up: every step is listed
    r = _run("import ptune; print(ptune.library_path)", {"LD_LIBRARY_PATH": ""}, pythonpath=pkg.parent)
    if r.returncode == 0:
        assert "package" not in r.stdout  # a system-wide install was found; nothing else to check
    else:
        for step in ("package directory", "source checkout build", "find_library", "dynamic loader"):
            assert step in r.stderr, r.stderr
        assert "PTUNE_LIBRARY" in r.stderr
    # a copy bundled next to __init__.py is found first
    shutil.copy(os.path.realpath(_lib.path), pkg / "libptune.so.0")
    r = _run("import ptune; print(ptune.library_path)", {}, pythonpath=pkg.parent)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(pkg / "libptune.so.0")


def test_discovery_checkout_build_dir(tmp_path):
    # <root>/python/ptune finds <root>/build/lib/libptune.so.0
    root = tmp_path / "repo"
    shutil.copytree(PYDIR / "ptune", root / "python" / "ptune",
                    ignore=shutil.ignore_patterns("__pycache__", "libptune*"))
    (root / "build" / "lib").mkdir(parents=True)
    shutil.copy(os.path.realpath(_lib.path), root / "build" / "lib" / "libptune.so.0")
    r = _run("import ptune; print(ptune.library_path)", {}, pythonpath=root / "python")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(root / "build" / "lib" / "libptune.so.0")
