"""The tour in docs/python.md runs as written (against ../shared)."""

import re

from conftest import REPO, shared_dir


def test_python_md_tour_runs(aidreams_path, monkeypatch, tmp_path, capsys):
    doc = (REPO / "docs" / "python.md").read_text()
    code = re.search(r"## Tour\n\n```python\n(.*?)```", doc, re.S).group(1)
    code = code.replace("../shared", str(shared_dir()))
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(code, "docs/python.md", "exec"), scope)
    assert (tmp_path / "runs" / "my-adapter" / "adapter_config.json").exists()
    assert len(scope["results"]) == 2 and scope["again"].shape == (8, 64)
    assert "llama 64 512" in capsys.readouterr().out
    for name in ("again", "other", "prompt"):
        scope[name].close()
