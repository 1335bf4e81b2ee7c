"""The pages' front-end kit: one page frame (`kit/base.html`) and the scripts every page shares.

`api.js` talks to the REST API, `stream.js` follows the hall stream (Socket.IO /hall, in `seq`
order), `session.js` keeps a staff login alive. Served at /static/kit/ by this blueprint, which
both the hall server and a kiosk on its own machine (`python -m kiosk`) register, so every page
loads the same files from the same address and the kiosk needs nothing from `queue_server`.
"""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("kit", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/static/kit")

__all__ = ["blueprint"]
