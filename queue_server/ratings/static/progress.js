/* /t/<query_code>: the QR progress page — the ticket, its history, and the web rating once finished. */
(function () {
  "use strict";
  const R = window.HallRating;
  const code = document.body.dataset.code;
  const notice = document.getElementById("notice");
  const STATUS = {waiting: "等候中", called: "已叫号，请到窗口办理", serving: "办理中", done: "已办结", skipped: "已过号"};
  const EVENTS = {"ticket.issued": "取号", "ticket.called": "叫号", "ticket.recalled": "重呼", "ticket.skipped": "过号",
                  "ticket.requeued": "重新排队", "ticket.transferred": "转至其他窗口", "case.accepted": "窗口受理",
                  "case.finished": "办结", "rating.received": "收到评价", "case.suspended": "暂停计时（不计时环节）",
                  "case.clock_resumed": "恢复计时"};
  let ratingShown = false;

  function fact(list, name, value) {
    if (!value && value !== 0) return;
    list.appendChild(R.el("dt", {}, name));
    list.appendChild(R.el("dd", {}, String(value)));
  }

  async function load() {
    try {
      const [shown, state] = await Promise.all([R.api("GET", "/api/v1/tickets/" + encodeURIComponent(code)),
                                                R.api("GET", "/api/v1/ratings/web/" + encodeURIComponent(code))]);
      const t = shown.ticket;
      document.getElementById("ticket-number").textContent = t.number;
      document.getElementById("ticket-status").textContent = STATUS[t.status] || t.status;
      const facts = document.getElementById("ticket-facts");
      facts.textContent = "";
      fact(facts, "事项", t.matter_name);
      if (t.status === "waiting") fact(facts, "前面还有", t.waiting_ahead + " 人");
      if (t.window) fact(facts, "窗口", t.window.number + "号窗口 " + t.window.name);
      fact(facts, "取号时间", R.fmt(t.issued_at));
      const c = state.case;
      if (c) {
        fact(facts, "办件编号", c.number);
        fact(facts, "受理时间", R.fmt(c.accepted_at));
        if (c.kind !== "即办件") fact(facts, "承诺办结", R.fmt(c.due_at) + (c.due_guessed ? "（暂定，节假日安排公布后重新计算）" : ""));
        if (c.finished_at) fact(facts, "办结时间", R.fmt(c.finished_at));
        if (c.suspended) fact(facts, "暂停计时", c.suspended);
      }
      document.getElementById("ticket-card").hidden = false;
      const history = document.getElementById("history");
      history.textContent = "";
      shown.history.forEach((h) => {
        const li = R.el("li");
        li.appendChild(R.el("time", {}, R.fmt(h.at)));
        li.appendChild(document.createTextNode(EVENTS[h.type] || h.type));
        history.appendChild(li);
      });
      document.getElementById("history-card").hidden = !shown.history.length;
      const box = document.getElementById("rating-box");
      if (state.rated) {
        R.thanks(box, state.rating);
      } else if (state.finished && !ratingShown) {
        const levels = await R.api("GET", "/api/v1/ratings/levels");
        R.render(box, {levels: levels.levels, channel: "web", extra: {query_code: code},
                       onDone: (rating) => { R.thanks(box, rating); load(); }});
        ratingShown = true;
      }
      notice.textContent = "";
      if (!state.finished) setTimeout(load, 30000);
    } catch (err) {
      notice.className = "notice error";
      notice.textContent = err.message;
    }
  }
  load();
})();
