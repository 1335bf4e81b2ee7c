"""The hall's screens served by the queue server: the TV page, the rating tablet, the voice WAVs.

The pages are static HTML + vanilla JS: each reads its device token from `?token=…`, takes the
`/hall` Socket.IO stream and the REST API like any other device. The voice WAV is public: it
holds no personal data (a ticket number and a window) and a display must fetch it without
headers from an <audio> element.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request

from .voice import CLIP_TEXTS, announcement_wav, ticket_words, window_words

display = Blueprint("display", __name__, template_folder="templates", static_folder="static",
                    static_url_path="/static/display")


@display.get("/display")
def tv():
    return render_template("display/tv.html")


@display.get("/rater")
def rater():
    return render_template("display/rater.html")


def _a_call_of_this_hall(ticket_number: str, window_number: int) -> bool:
    """Only a call the hall can make is joined (and cached): one of its number series (prefix and
    up to four digits) to one of its windows, every part in the clip set. Anything else is
    refused, so nobody can have the server synthesise and cache sounds for them."""
    from flask import current_app
    rt = current_app.extensions.get("hall")
    if rt is None:
        return True   # the voice module on its own (tests, make_clips)
    number = ticket_number.strip().upper()
    prefix = number.rstrip("0123456789")
    digits = number[len(prefix):]
    if not 1 <= len(digits) <= 4:
        return False
    if not any(prefix == m.prefix.upper() for cfg in rt.halls.values() for m in cfg.matters):
        return False
    if not any(window_number == w.number for cfg in rt.halls.values() for w in cfg.windows):
        return False
    return all(part in CLIP_TEXTS for part in ticket_words(number) + window_words(window_number))


@display.get("/display/voice/<ticket_number>/<int:window_number>.wav")
def voice(ticket_number: str, window_number: int):
    recall = request.args.get("recall", "") in ("1", "true", "yes")
    if len(ticket_number) > 10 or window_number > 9999 or not _a_call_of_this_hall(ticket_number, window_number):
        abort(404)
    try:
        wav = announcement_wav(ticket_number, window_number, recall=recall)
    except ValueError:
        abort(404)
    return Response(wav, mimetype="audio/wav", headers={"Cache-Control": "public, max-age=86400"})
