"""The package as users get it: `maturin build` makes an abi3 wheel that installs and runs."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MATURIN = Path(sys.executable).parent / "maturin"


@pytest.mark.skipif(not MATURIN.exists(), reason="maturin is not installed in this environment")
def test_wheel_builds_installs_and_serves_from_a_fresh_venv(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [str(MATURIN), "build", "--release", "--quiet", "--out", str(wheels)],
        cwd=ROOT,
        check=True,
        timeout=600,
    )
    (wheel,) = wheels.glob("wirespeed-*.whl")
    assert "-abi3-" in wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("wirespeed/py.typed", "wirespeed/_parser.pyi", "wirespeed/demo_static/hello.txt"):
        assert expected in names
    assert any(name.startswith("wirespeed/_parser.") and name.endswith(".so") for name in names)

    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True, timeout=600)
    probe = (
        "import wirespeed, wirespeed._parser, wirespeed.parser as p, wirespeed.config as c;"
        "print(p.resolve_backend('auto'), wirespeed._parser.__file__.startswith(%r))" % str(env_dir)
    )
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert result.stdout.split() == ["rust", "True"]
