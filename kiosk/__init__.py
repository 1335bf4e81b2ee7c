"""The touch kiosk (自助取号机): the page citizens tap, and its backend beside the slip printer.

On a real kiosk machine `python -m kiosk --server http://hall:8000 --token … --printer tcp://…:9100`
serves the page from `create_kiosk_app`, talking to the queue server over its HTTP API only. The
hall server also mounts the same pages at /kiosk in its own process (`mount`, with a `Host` that
picks the paired device's backend: queue_server/kiosk_host.py). Either way nothing here imports
`queue_server`: what both sides need is in `hallkit/` and `printers/`.
"""
from __future__ import annotations

from flask import Flask

from hallkit import blueprint as kit
from hallkit.web_security import install as install_web_security

from .views import Host, blueprint, mount

__all__ = ["Host", "blueprint", "create_kiosk_app", "mount"]


def create_kiosk_app(server_url: str, token: str, printer: str | None = None,
                     printer_profile: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(KIOSK_SERVER_URL=server_url, KIOSK_TOKEN=token, KIOSK_PRINTER=printer,
                      KIOSK_PRINTER_PROFILE=printer_profile, JSON_AS_ASCII=False)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Flask's default provider has it
    app.register_blueprint(kit)   # the page frame and scripts every page shares
    app.register_blueprint(blueprint, url_prefix="/kiosk")
    install_web_security(app)   # the same CSP and cross-site refusal as the hall server's pages

    @app.get("/")
    def home():
        from flask import redirect
        return redirect("/kiosk/")

    return app
