"""bench/peer_fqm.py without FQM: how it reads a pull's outcome, and its plain refusal without a peer.

FQM answers every operator pull with the same redirect; the bench tells a pull from an empty queue
by the flash message in the Flask session cookie, so that decoding must match what Flask writes.
"""
from __future__ import annotations

import sys
from pathlib import Path

from flask import Flask, flash, redirect

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import peer_fqm  # noqa: E402


def _set_cookie_after(*messages: tuple[str, str]) -> str:
    app = Flask(__name__)
    app.secret_key = "test"

    @app.get("/pull")
    def pull():
        for category, message in messages:
            flash(message, category)
        return redirect("/task/1/1")

    return app.test_client().get("/pull").headers["Set-Cookie"]


def test_the_newest_flash_is_read_from_plain_and_compressed_session_cookies():
    plain = _set_cookie_after(("danger", "Error: no tickets left to pull from .."))
    assert peer_fqm.last_flash(plain) == ("danger", "Error: no tickets left to pull from ..")

    many = [("info", "Notice: logged-in and all good")] * 20 + [("info", "Notice: Ticket has been pulled ..")]
    compressed = _set_cookie_after(*many)
    assert "session=." in compressed    # Flask zlib-compresses a long session
    assert peer_fqm.last_flash(compressed) == ("info", "Notice: Ticket has been pulled ..")

    assert peer_fqm.last_flash(None) is None
    assert peer_fqm.last_flash("other=1; Path=/") is None


def test_without_a_peer_url_it_says_so_and_measures_nothing(capsys):
    assert peer_fqm.main([]) == 2
    assert "No FQM peer given: nothing measured" in capsys.readouterr().err
