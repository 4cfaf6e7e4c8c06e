"""Install the Python side of the benchmarks into the running interpreter's environment.

This module owns reading the `bench` extra from pyproject.toml and installing it with pip.
Everything but socketify must install; socketify (an sdist on PyPI that bundles a prebuilt
library needing libuv) may fail, and then the benchmarks skip it with a note. The system side
(nginx, its echo module, wrk, libuv) is installed by the Makefile's bench-system-deps target.

    python benches/setup_deps.py
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
OPTIONAL = ("socketify",)


def bench_requirements() -> list[str]:
    text = PYPROJECT.read_text()
    try:
        import tomllib
    except ImportError:  # Python 3.10: read the one array by hand
        block = re.search(r"^bench\s*=\s*\[(.*?)\]", text, re.MULTILINE | re.DOTALL)
        if not block:
            raise SystemExit("pyproject.toml has no `bench` optional-dependencies") from None
        return re.findall(r'"([^"]+)"', block.group(1))
    requirements: list[str] = tomllib.loads(text)["project"]["optional-dependencies"]["bench"]
    return requirements


def name_of(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()


def pip_install(requirements: list[str]) -> bool:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements]
    return subprocess.run(command, check=False).returncode == 0


def importable(module: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, check=False).returncode == 0


def main() -> int:
    requirements = bench_requirements()
    required = [r for r in requirements if name_of(r) not in OPTIONAL]
    optional = [r for r in requirements if name_of(r) in OPTIONAL]
    if not pip_install(required):
        print("error: could not install the benchmark dependencies", file=sys.stderr)
        return 1
    for requirement in optional:
        module = name_of(requirement)
        if importable(module):
            continue
        if not pip_install([requirement]) or not importable(module):
            print(f"note: {module} could not be installed or imported here; the benchmarks skip it", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
