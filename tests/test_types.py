"""The type check of the app packages: mypy with `[tool.mypy]` in pyproject.toml (its cache in
var/, so a second run takes seconds). A module on its ignore list is a known debt, not a pass."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_app_packages_type_check():
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-color-output"], cwd=ROOT,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
