"""The kiosk only speaks HTTP (issue 22): `kiosk/` imports nothing from `queue_server`, so
`python -m kiosk` runs on a machine beside its printer with no server code at all. What both
sides need is in `hallkit/` and `printers/`, which import neither of them."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported(path: Path) -> set[str]:
    """The top-level package of every import in a module, those inside functions included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package, forbidden", [("kiosk", {"queue_server"}),
                                                ("hallkit", {"queue_server", "kiosk"}),
                                                ("printers", {"queue_server", "kiosk", "hallkit"})])
def test_no_module_imports_the_other_side(package, forbidden):
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules
    wrong = {str(m.relative_to(ROOT)): sorted(imported(m) & forbidden) for m in modules}
    assert not {m: names for m, names in wrong.items() if names}


RUN_WITHOUT_THE_SERVER = """
import sys
sys.modules["queue_server"] = None          # `import queue_server` (or any part of it) fails
import kiosk, kiosk.__main__, kiosk.backend, kiosk.pinyin, kiosk.printing, kiosk.views
from kiosk import create_kiosk_app
client = create_kiosk_app("http://127.0.0.1:9", "a-token", "preview:").test_client()
page = client.get("/kiosk/")
assert page.status_code == 200 and "Content-Security-Policy" in page.headers, page.status_code
wrong = client.post("/kiosk/api/tickets", json={"matter_id": 1, "id_number": "110105194912310021"})
assert wrong.get_json()["error"]["code"] == "invalid_id_number", wrong.get_json()
down = client.post("/kiosk/api/tickets", json={"matter_id": 1})
assert down.get_json()["error"]["code"] == "server_down", down.get_json()
assert not [name for name in sys.modules if name.startswith("queue_server.")]
print("alone")
"""


def test_the_kiosk_app_runs_where_there_is_no_server_code():
    done = subprocess.run([sys.executable, "-c", RUN_WITHOUT_THE_SERVER], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "alone", done.stderr[-2000:]
