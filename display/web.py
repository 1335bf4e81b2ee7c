"""The hall's screens served by the queue server: the TV page, the rating tablet, the voice WAVs.

The pages are static HTML + vanilla JS: each reads its device token from `?token=…`, takes the
`/hall` Socket.IO stream and the REST API like any other device. The voice WAV is public: it
holds no personal data (a ticket number and a window) and a display must fetch it without
headers from an <audio> element.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request

from .voice import announcement_wav

display = Blueprint("display", __name__, template_folder="templates", static_folder="static",
                    static_url_path="/static/display")


@display.get("/display")
def tv():
    return render_template("display/tv.html")


@display.get("/rater")
def rater():
    return render_template("display/rater.html")


@display.get("/display/voice/<ticket_number>/<int:window_number>.wav")
def voice(ticket_number: str, window_number: int):
    recall = request.args.get("recall", "") in ("1", "true", "yes")
    if len(ticket_number) > 10 or window_number > 9999:
        abort(404)
    try:
        wav = announcement_wav(ticket_number, window_number, recall=recall)
    except ValueError:
        abort(404)
    return Response(wav, mimetype="audio/wav", headers={"Cache-Control": "public, max-age=86400"})
