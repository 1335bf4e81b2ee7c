"""Staff pages (window caller) and the demo's front page."""
from flask import Blueprint, current_app, render_template

pages = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
                  static_url_path="/static/hall")


@pages.get("/")
def index():
    rt = current_app.extensions["hall"]
    # Only the demo hall's well-known device tokens are put in links; a real hall's never are.
    demo_tokens = {"display": "demo-display", "rater": "demo-rater-01"} if rt.demo else None
    return render_template("index.html", halls=list(rt.halls.values()), demo_tokens=demo_tokens)


@pages.get("/caller")
def caller():
    return render_template("caller.html")
