/* /t/<query_code>: the QR progress page — the ticket, its history, and the web rating once finished. */
(() => {
  "use strict";
  const R = window.HallRating;
  const code = document.body.dataset.code;
  const notice = document.getElementById("notice");
  // The ticket's and the case's words come from the server (lifecycle.py); these only say more.
  const MORE = {called: "已叫号，请到窗口办理",
                unserved: "未办理：当日办公时间结束时尚未叫到此号，号已作废，请另行取号或预约"};
  const EVENTS = {"ticket.issued": "取号", "ticket.called": "叫号", "ticket.recalled": "重呼", "ticket.skipped": "过号",
                  "ticket.requeued": "重新排队", "ticket.transferred": "转至其他窗口", "case.accepted": "窗口受理",
                  "case.finished": "办结", "rating.received": "收到评价", "case.suspended": "暂停计时（不计时环节）",
                  "case.clock_resumed": "恢复计时", "case.correction": "一次性补正告知", "case.refused": "不予受理",
                  "case.delivered": "出件", "day.closed": "日终关闭（未办理）"};
  let ratingShown = false;

  function fact(list, name, value) {
    if (!value && value !== 0) return;
    list.appendChild(R.el("dt", {}, name));
    list.appendChild(R.el("dd", {}, String(value)));
  }

  async function load() {
    try {
      const [shown, state] = await Promise.all([R.api("GET", "/tickets/" + encodeURIComponent(code)),
                                                R.api("GET", "/ratings/web/" + encodeURIComponent(code))]);
      const t = shown.ticket;
      document.getElementById("ticket-number").textContent = t.number;
      const c = state.case;
      // After the visit the case speaks: 办理中 for days, 已办结, 待补正, 不予受理.
      document.getElementById("ticket-status").textContent =
        c && t.status === "done" ? c.status_text : MORE[t.status] || t.status_text || t.status;
      const facts = document.getElementById("ticket-facts");
      facts.textContent = "";
      fact(facts, "事项", t.matter_name);
      if (t.status === "waiting") fact(facts, "前面还有", t.waiting_ahead + " 人");
      if (t.window) fact(facts, "窗口", t.window.number + "号窗口 " + t.window.name);
      fact(facts, "取号时间", R.fmt(t.issued_at));
      if (c) {
        fact(facts, "办件编号", c.number);
        if (c.missing && c.missing.length) fact(facts, "需补正材料", c.missing.join("、"));
        if (c.reason) fact(facts, "不予受理理由", c.reason);
        fact(facts, "受理时间", R.fmt(c.accepted_at));
        if (c.kind !== "即办件") fact(facts, "承诺办结", R.fmt(c.due_at) + (c.due_guessed ? "（暂定，节假日安排公布后重新计算）" : ""));
        if (c.finished_at) fact(facts, "办结时间", R.fmt(c.finished_at));
        if (c.delivered_at) fact(facts, "出件", R.fmt(c.delivered_at) + (c.delivery === "mail" ? " 邮寄送达" : " 窗口领取"));
        if (c.suspended) fact(facts, "暂停计时", c.suspension_reason);
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
      } else if (state.finished && state.expired) {
        box.textContent = "办结已超过评价期限，网上评价已关闭";
      } else if (state.finished && !ratingShown) {
        const levels = await R.api("GET", "/ratings/levels");
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
