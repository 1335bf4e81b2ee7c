"""The touch kiosk (自助取号机): the page citizens tap, and its backend beside the slip printer.

In `hall demo` the blueprint is mounted in the server's own process at /kiosk; on a real kiosk
machine `python -m kiosk --server http://hall:8000 --token … --printer tcp://…:9100` serves the
same page from `create_kiosk_app`, talking to the queue server over its API only.
"""
from __future__ import annotations

from flask import Flask

from hallkit import blueprint as kit
from queue_server.web_security import install as install_web_security

from .views import blueprint

__all__ = ["blueprint", "create_kiosk_app"]


def create_kiosk_app(server_url: str, token: str, printer: str | None = None,
                     printer_profile: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(KIOSK_SERVER_URL=server_url, KIOSK_TOKEN=token, KIOSK_PRINTER=printer,
                      KIOSK_PRINTER_PROFILE=printer_profile, JSON_AS_ASCII=False)
    app.json.ensure_ascii = False
    app.register_blueprint(kit)   # the page frame and scripts every page shares
    app.register_blueprint(blueprint, url_prefix="/kiosk")
    install_web_security(app)   # the same CSP and cross-site refusal as the hall server's pages

    @app.get("/")
    def home():
        from flask import redirect
        return redirect("/kiosk/")

    return app
