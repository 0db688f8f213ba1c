"""Imports point downward: the import-linter contracts in pyproject.toml must hold."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_BELOW_WEB = ("fastapi", "starlette", "jinja2", "jinja2_fragments", "web")


def test_import_linter_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is part of the test extra"
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().split("contracts:")[-1] or "0 broken" in result.stdout


def test_no_module_below_web_imports_the_web_stack():
    """A second, dependency-free check: parse every module of the lower packages."""
    offenders = []
    for package in ("engine", "itembank", "simulations"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                offenders += [f"{path.relative_to(ROOT)} imports {n}" for n in names
                              if n.split(".")[0] in FORBIDDEN_BELOW_WEB]
    assert offenders == []
