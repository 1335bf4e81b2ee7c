"""GET /api/v1/openapi.json: the API's own description (public, like the catalogue)."""
from ..openapi import serve_openapi
from . import api

api.get("/openapi.json")(serve_openapi)
