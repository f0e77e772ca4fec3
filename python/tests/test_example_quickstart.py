"""examples/python/quickstart.py runs end to end: it tunes (the loss falls), streams generated
text and saves a PEFT adapter that loads back."""
import os
import subprocess
import sys

import ptune

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_python_quickstart(aidreams_path, tmp_path):
    out = tmp_path / "adapter"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "python")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python", "quickstart.py"), aidreams_path,
                           str(out)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    losses = [float(line.split()[3]) for line in proc.stdout.splitlines() if line.startswith("step")]
    assert len(losses) >= 3 and losses[-1] < losses[0]
    generated = [line for line in proc.stdout.splitlines() if line.startswith("generated:")]
    assert generated and len(generated[0]) > len("generated: ")
    with ptune.Model(aidreams_path) as model:
        prompt = model.load_prompt(str(out)) if hasattr(model, "load_prompt") else ptune.Prompt.load(model, str(out))
        assert prompt.n_virtual == 8
        prompt.close()
