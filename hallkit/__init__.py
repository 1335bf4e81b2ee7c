"""What the hall server and the kiosk machine both use: small, pure helpers and the pages' kit.

The kiosk (`python -m kiosk`) runs on its own machine and speaks to the server over HTTP only, so
it cannot import `queue_server`; whatever both sides need lives here instead. Nothing here holds
an app, a database or any state of its own, and nothing here imports `queue_server` or `kiosk`.
The slip's layout and bytes, which both print, are the other shared package: `printers/`.

The front-end kit: one page frame (`kit/base.html`) and the scripts every page shares. `api.js`
talks to the REST API, `stream.js` follows the hall stream (Socket.IO /hall, in `seq` order),
`session.js` keeps a staff login alive. Served at /static/kit/ by this blueprint, which both the
hall server and a kiosk on its own machine register, so every page loads the same files.
"""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("kit", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/static/kit")

__all__ = ["blueprint"]
