"""The package as users get it.

`maturin build` makes an abi3 wheel holding what the package needs, with the dependencies and
extras of pyproject.toml (uvloop only where it exists), and the wheel installs on its own
(without its dependencies, so the check stays offline) into a fresh venv where the Rust parser
imports from the installed copy. Serving from an installed package, with its dependencies from
the registry and `twine check`, is `make wheel` (and `make sdist-check` for the sdist):
tests/deploy/serve_once.py, run by those targets and by the wheels workflow.

.github/workflows/wheels.yml cannot run here, so its shape is checked: valid YAML, the build
jobs and their targets, the pinned toolchains (Cargo.toml's rust-version, a maturin that
pyproject.toml accepts) in every job that builds, and a test job per platform that needs its
build job.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path
from typing import Any

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
MATURIN = Path(sys.executable).parent / "maturin"
WORKFLOW = ROOT / ".github" / "workflows" / "wheels.yml"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CARGO = tomllib.loads((ROOT / "Cargo.toml").read_text())


@pytest.mark.skipif(not MATURIN.exists(), reason="maturin is not installed in this environment")
def test_wheel_holds_the_package_and_installs_into_a_fresh_venv(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [str(MATURIN), "build", "--release", "--quiet", "--out", str(wheels)],
        cwd=ROOT,
        check=True,
        timeout=600,
    )
    (wheel,) = wheels.glob("wirespeed-*.whl")
    assert "-cp310-abi3-" in wheel.name
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    for expected in (
        "wirespeed/py.typed",
        "wirespeed/_parser.pyi",
        "wirespeed/demo_static/hello.txt",
        "wirespeed/reload.py",
        "wirespeed/parser_httptools/__init__.py",
    ):
        assert expected in names
    assert any(name.startswith("wirespeed/_parser.") and name.endswith(".so") for name in names)
    assert not any(name.startswith(("tests/", "benches/", "rust/")) for name in names)

    metadata_name = next(name for name in names if name.endswith(".dist-info/METADATA"))
    metadata = email.message_from_bytes(archive.read(metadata_name))
    requires = metadata.get_all("Requires-Dist") or []
    # uvloop does not exist on Windows: the server runs on asyncio there.
    assert any(re.fullmatch(r"uvloop>=[\d.]+ ; sys_platform != ['\"]win32['\"]", line) for line in requires), requires
    assert any(line.startswith("httptools>=") and ";" not in line for line in requires), requires
    assert any(line.startswith("watchfiles") and "extra == 'reload'" in line.replace('"', "'") for line in requires)
    assert {"reload", "test", "json"} <= set(metadata.get_all("Provides-Extra") or [])
    assert metadata["Requires-Python"] == ">=3.10"

    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check", str(wheel)],
        check=True,
        timeout=600,
    )
    probe = (
        "import wirespeed, wirespeed._parser, wirespeed.parser as p;"
        f"print(p.resolve_backend('rust'), wirespeed._parser.__file__.startswith({str(env_dir)!r}))"
    )
    clean = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path, env=clean
    )
    assert result.stdout.split() == ["rust", "True"]
    assert (env_dir / "bin" / "wirespeed").exists()


# -- the wheels workflow
BUILD_TARGETS = {
    # job id -> the maturin-action targets it builds (and for Linux, its manylinux setting)
    "linux": ({"x86_64", "aarch64"}, "auto"),
    "musllinux": ({"x86_64-unknown-linux-musl"}, "musllinux_1_2"),
    "macos": ({"universal2-apple-darwin"}, None),
    "windows": ({"x64"}, None),
}
TEST_JOBS = {
    "test-manylinux": "linux",
    "test-musllinux": "musllinux",
    "test-macos": "macos",
    "test-windows": "windows",
    "test-sdist": "sdist",
}


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    loaded = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _maturin_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for step in job.get("steps", []) if str(step.get("uses", "")).startswith("PyO3/maturin-action@")]


def _matrix_values(job: dict[str, Any], value: str) -> set[str]:
    """`value`, or the values of the matrix key it names (${{ matrix.KEY }})."""
    match = re.fullmatch(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", value)
    if not match:
        return {value}
    matrix = job["strategy"]["matrix"]
    if match[1] in matrix:
        return {str(item) for item in matrix[match[1]]}
    return {str(item[match[1]]) for item in matrix.get("include", [])}


def test_workflow_is_valid_yaml_that_runs_on_pushes_and_pull_requests(workflow: dict[str, Any]) -> None:
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    triggers = workflow.get("on", workflow.get(True))
    assert {"push", "pull_request"} <= set(triggers)
    assert set(workflow["jobs"]) == set(BUILD_TARGETS) | {"sdist"} | set(TEST_JOBS)


@pytest.mark.parametrize("job_id", sorted(BUILD_TARGETS))
def test_each_build_job_builds_its_targets_in_release(workflow: dict[str, Any], job_id: str) -> None:
    job = workflow["jobs"][job_id]
    (step,) = _maturin_steps(job)
    targets, manylinux = BUILD_TARGETS[job_id]
    assert _matrix_values(job, step["with"]["target"]) == targets
    assert step["with"].get("manylinux") == manylinux
    assert "--release" in step["with"]["args"].split()
    assert any(str(s.get("uses", "")).startswith("actions/upload-artifact@") for s in job["steps"])


def test_the_sdist_job_builds_the_sdist(workflow: dict[str, Any]) -> None:
    (step,) = _maturin_steps(workflow["jobs"]["sdist"])
    assert step["with"]["command"] == "sdist"


def test_every_build_uses_the_toolchains_the_repository_pins(workflow: dict[str, Any]) -> None:
    from packaging.requirements import Requirement

    env = workflow["env"]
    assert env["RUST_TOOLCHAIN"] == CARGO["package"]["rust-version"]
    (maturin,) = [Requirement(r) for r in PYPROJECT["build-system"]["requires"] if r.startswith("maturin")]
    assert maturin.specifier.contains(env["MATURIN_VERSION"])
    building = {job_id: job for job_id, job in workflow["jobs"].items() if _maturin_steps(job)}
    assert set(building) == set(BUILD_TARGETS) | {"sdist"}
    for job_id, job in building.items():
        for step in _maturin_steps(job):
            assert step["with"]["rust-toolchain"] == "${{ env.RUST_TOOLCHAIN }}", job_id
            assert step["with"]["maturin-version"] == "${{ env.MATURIN_VERSION }}", job_id
    # The sdist's test compiles it, with the same Rust.
    toolchains = [s for s in workflow["jobs"]["test-sdist"]["steps"] if "rust-toolchain" in str(s.get("uses", ""))]
    assert toolchains and toolchains[0]["with"]["toolchain"] == "${{ env.RUST_TOOLCHAIN }}"


@pytest.mark.parametrize(("test_job", "build_job"), sorted(TEST_JOBS.items()))
def test_each_test_job_needs_its_build_and_installs_what_it_built(
    workflow: dict[str, Any], test_job: str, build_job: str
) -> None:
    job = workflow["jobs"][test_job]
    needs = job["needs"] if isinstance(job["needs"], list) else [job["needs"]]
    assert build_job in needs
    downloads = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact@")]
    uploaded = {
        name
        for s in workflow["jobs"][build_job]["steps"]
        if str(s.get("uses", "")).startswith("actions/upload-artifact@")
        for name in _artifact_names(workflow["jobs"][build_job], s["with"]["name"])
    }
    assert downloads and _artifact_names(job, downloads[0]["with"]["name"]) <= uploaded
    commands = "\n".join(str(s.get("run", "")) for s in job["steps"])
    assert "pip install dist/" in commands
    assert "tests/deploy/serve_once.py" in commands
    if test_job != "test-sdist":
        assert "python -m pytest" in commands


def _artifact_names(job: dict[str, Any], name: str) -> set[str]:
    match = re.search(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", name)
    if not match:
        return {name}
    return {name.replace(match[0], value) for value in _matrix_values(job, match[0])}


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="actionlint is not installed (no Debian package)")
def test_actionlint_finds_nothing() -> None:
    result = subprocess.run(["actionlint", str(WORKFLOW)], capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
