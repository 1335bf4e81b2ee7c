"""The REST API under /api/v1: the contract devices and other systems depend on (DESIGN.md)."""
from flask import Blueprint

api = Blueprint("api", __name__, url_prefix="/api/v1")

from . import appointments, auth, catalog, devices, queue, ratings, supervision, tickets, windows  # noqa: E402,F401  (routes register on `api`)
