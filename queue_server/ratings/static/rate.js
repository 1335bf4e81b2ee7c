/* /r/<token>: the page an SMS invitation opens. */
(() => {
  "use strict";
  const R = window.HallRating;
  const token = document.body.dataset.token;
  const notice = document.getElementById("notice");

  function fact(list, name, value) {
    if (!value) return;
    list.appendChild(R.el("dt", {}, name));
    list.appendChild(R.el("dd", {}, value));
  }

  async function start() {
    try {
      const [state, levels] = await Promise.all([R.api("GET", "/ratings/link/" + encodeURIComponent(token)),
                                                 R.api("GET", "/ratings/levels")]);
      const c = state.case;
      document.getElementById("matter-name").textContent = c.matter_name;
      const facts = document.getElementById("case-facts");
      fact(facts, "办件编号", c.number);
      fact(facts, "办理窗口", c.window_number ? c.window_number + "号窗口" : "");
      fact(facts, "办结时间", R.fmt(c.finished_at));
      fact(facts, "链接有效期至", R.fmt(state.expires_at));
      document.getElementById("case-card").hidden = false;
      const box = document.getElementById("rating-box");
      if (state.rated) {  // 一事一评: already rated on the window's device or the QR page
        R.thanks(box, state.rating);
        box.prepend(R.el("p", {"class": "notice"},
          "该办件已通过" + state.rating.channel_word + "评价，一事一评，无需再次评价。"));
        return;
      }
      R.render(document.getElementById("rating-box"), {
        levels: levels.levels, channel: "sms", extra: {link: token},
        onDone: (rating) => R.thanks(document.getElementById("rating-box"), rating),
      });
    } catch (err) {
      notice.className = "notice error";
      notice.textContent = err.message;
    }
  }
  start();
})();
