"""Forged SMS rating links (`/r/<token>`, ratings/links.py): a tampered signature, another
invitation's id under this one's signature, a link signed with another key, a link for another
case, truncated, random and hostile tokens, an expired link and a used one. Each is refused on
the link's API (the error shape) and when rating with it, and nothing is stored; the page itself
shows the token only escaped."""
from __future__ import annotations

import pytest

from hostile_helpers import (API, INJECTIONS, PHONE, Callers, PageParts, Problems, clock_at, make_app, ok,
                             sms_link, unchanged)

from conftest import SMALL_HALL
from queue_server.ratings.links import make_token
from queue_server.ratings.models import SmsInvitation


class Links:
    def __init__(self, tmp):
        self.clock = clock_at()
        self.app = make_app([SMALL_HALL], tmp, self.clock)
        self.c = self.app.test_client()
        self.who = Callers(self.c)
        catalogue = ok(self.c.get(API + "/matters"))
        self.matter = next(m["id"] for m in catalogue["matters"] if m["code"] == "XK00102001")  # a 即办件
        self.window = next(w["id"] for w in catalogue["windows"] if w["number"] == 1)
        self.cases = [self.serve() for _ in range(2)]
        self.tokens = [sms_link(self.app.extensions["hall"], case["id"])[1] for case in self.cases]

    def serve(self) -> dict:
        ok(self.who.call("POST", "/tickets", "kiosk", {"matter_id": self.matter, "phone": PHONE}), 201)
        for action in ("call-next", "accept", "finish"):
            answer = ok(self.who.call("POST", f"/windows/{self.window}/{action}", "clerk01"))
        return answer["case"]

    def rate(self, token: str, **extra):
        return self.c.post(API + "/ratings", json={"channel": "sms", "link": token, "level": 1,
                                                   "comment": "伪造链接", **extra})

    def state(self, token: str):
        return self.c.get(f"{API}/ratings/link/{token}")


@pytest.fixture(scope="module")
def k(tmp_path_factory):
    return Links(tmp_path_factory.mktemp("hostile_links"))


def forgeries(k: Links) -> dict[str, str]:
    first, second = k.tokens
    head, mac = first.split(".")
    other_head = second.split(".")[0]
    with k.app.extensions["hall"].read() as s:
        invitation = s.get(SmsInvitation, int(head, 36))
        foreign = make_token(b"another server's secret", invitation)
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    return {
        "tampered signature": f"{head}.{flipped}",
        "another invitation's id, this signature": f"{other_head}.{mac}",
        "signed with another key": foreign,
        "truncated signature": first[:-1],
        "signature only": "." + mac,
        "id only": head,
        "id and dot": head + ".",
        "an uppercase letter in the id": f"{head}Z.{mac}",
        "id of 13 characters": "z" * 13 + "." + mac,
        "largest id": "z" * 12 + "." + mac,
        "random": "k3.Zq9-Xw_2Lp0a",
        "empty signature of the right length": f"{head}.{'=' * 12}",
        "dots": "...",
        "path climbing": "..%2F..%2Fetc%2Fpasswd",
        **{f"injection {i}": text for i, text in enumerate(INJECTIONS)},
    }


def test_forged_links_are_refused_everywhere_and_store_nothing(k):
    problems = Problems()
    pages = 0
    with unchanged(k.app):
        for name, token in forgeries(k).items():
            problems.expect(k.rate(token), 403, "invalid_link", f"rate with {name}")
            if "/" not in token and "?" not in token and "#" not in token:
                problems.expect(k.state(token), (403, 404), ("invalid_link", "not_found"), f"link state of {name}")
            page = k.c.get("/r/" + token.replace("/", "%2F"))
            if page.status_code == 200:
                pages += 1
                parts = PageParts(page.get_data(as_text=True))
                if "政务服务“好差评”" not in parts.text:
                    problems.append(f"/r/ page of {name}: not the Chinese rating page")
                if parts.dangers():
                    problems.append(f"/r/ page of {name}: {parts.dangers()}")
            elif page.status_code != 404:
                problems.append(f"/r/ page of {name}: {page.status_code}")
        problems.expect(k.rate("x" * 65), 400, "field_too_long", "rate with a 65-character link")
        first_case, second_case = k.cases
        problems.expect(k.rate(k.tokens[0], case_id=second_case["id"]), 403, "invalid_link",
                        "a good link sent with another case's id")
    problems.check()
    assert pages >= 15, f"only {pages} forged links reached the rating page"


def test_a_link_works_once(k):
    token = k.tokens[0]
    assert k.state(token).status_code == 200
    assert k.rate(token).status_code == 201
    problems = Problems()
    with unchanged(k.app):
        problems.expect(k.rate(token), 409, "link_used", "the same link again")
        problems.expect(k.rate(token, level=5), 409, "link_used", "the same link again, another level")
        problems.expect(k.state(token), 409, "link_used", "the used link's state")
    problems.check()


def test_an_expired_link_is_refused(k):
    token = k.tokens[1]
    assert k.state(token).status_code == 200
    k.clock.advance(days=7, minutes=1)
    problems = Problems()
    with unchanged(k.app):
        problems.expect(k.rate(token), 410, "link_expired", "a link eight days old")
        problems.expect(k.state(token), 410, "link_expired", "an expired link's state")
    problems.check()
