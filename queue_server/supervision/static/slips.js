/* 投箱评议: scan a slip (keyboard-wedge scanner: digits + Enter), tick the level, next.
   The code is checked first, so a duplicate or unknown slip is refused before a level is chosen;
   while a level is awaited the digit keys 1–5 choose it and the code field is locked. */
(() => {
  "use strict";
  const {api, el, time} = window.Sup;
  const $ = (id) => document.getElementById(id);
  const WORDS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"};
  let batch = null;
  let pending = null;  // the checked slip awaiting its level: {code, ticket}

  function status(text, kind) {
    $("current").textContent = text;
    $("current").className = "current" + (kind ? " " + kind : "");
  }

  function tallyInto(node, b) {
    node.textContent = "";
    b.counts.forEach((c) => node.append(el("div", {class: "card" + (c.level <= 2 && c.count ? " red" : "")},
      el("div", {class: "label"}, c.word), el("div", {class: "value"}, c.count))));
  }

  async function refresh() {
    const b = (await api("GET", "/slips/batches/" + batch)).batch;
    $("count").textContent = b.rated;
    $("refused-count").textContent = b.refused.length;
    tallyInto($("tally"), b);
    return b;
  }

  function awaiting(on) {
    document.querySelectorAll("#levels button").forEach((b) => { b.disabled = !on; });
    $("code").disabled = on;
    $("skip").disabled = !on;
    if (!on) { $("code").value = ""; $("code").focus(); }
  }

  async function check(code) {
    if (!code) return;
    try {
      const found = await api("POST", `/slips/batches/${batch}/scan`, {code});
      pending = {code, ticket: found.ticket};
      status(`${found.ticket.number}号 · ${found.ticket.matter_name}：请选择评议单上勾选的等级（数字键 5–1）`, "ready");
      awaiting(true);
    } catch (err) {
      status("拒绝：" + err.message, "refused");
      awaiting(false);
      refresh().catch(() => {});
    }
  }

  async function choose(level) {
    if (!pending) return;
    const slip = pending;
    pending = null;
    awaiting(false);
    try {
      await api("POST", `/slips/batches/${batch}/scan`, {code: slip.code, level});
      status(`已录入：${slip.ticket.number}号 ${WORDS[level]}。请扫描下一张`);
    } catch (err) {
      status("拒绝：" + err.message, "refused");
    }
    refresh().catch(() => {});
  }

  function skip() {
    if (!pending) return;
    status(`已跳过 ${pending.ticket.number}号（未录入）。请扫描下一张`);
    pending = null;
    awaiting(false);
  }

  async function finish() {
    const b = (await api("POST", `/slips/batches/${batch}/close`)).batch;
    Sup.store.set("slip_batch", null);
    $("scan-view").hidden = true;
    $("result-view").hidden = false;
    $("result-title").textContent = `开箱评议汇总（${time(b.opened_at)} 至 ${time(b.closed_at)}，${b.opened_by}）：录入 ${b.rated} 张，拒绝 ${b.refused.length} 张`;
    tallyInto($("final-tally"), b);
    const table = $("refused");
    table.textContent = "";
    table.append(el("thead", {}, el("tr", {}, el("th", {class: "text"}, "条码"), el("th", {class: "text"}, "原因"), el("th", {}, "时间"))));
    const body = el("tbody");
    b.refused.forEach((r) => body.append(el("tr", {}, el("td", {class: "text"}, r.code || "（空）"), el("td", {class: "text"}, r.message),
                                               el("td", {}, time(r.at)))));
    if (!b.refused.length) body.append(el("tr", {}, el("td", {class: "text muted", colspan: "3"}, "没有被拒绝的条码")));
    table.append(body);
  }

  function scanning(id) {
    batch = id;
    Sup.store.set("slip_batch", id);
    $("start-view").hidden = true;
    $("result-view").hidden = true;
    $("scan-view").hidden = false;
    awaiting(false);
    refresh().catch(() => {});
  }

  async function start() {
    const me = await Sup.login($("login-root"), "投箱评议 · 督查人员登录");
    $("who-name").textContent = me.name;
    $("who").hidden = false;
    $("app").hidden = false;
    $("logout").addEventListener("click", Sup.logout);
    const levels = $("levels");
    [5, 4, 3, 2, 1].forEach((n) => levels.append(el("button", {type: "button", "data-level": String(n), disabled: true,
      onclick: () => choose(n)}, WORDS[n], el("kbd", {}, "按 " + n))));
    $("start").addEventListener("click", async () => scanning((await api("POST", "/slips/batches")).batch.id));
    $("again").addEventListener("click", async () => scanning((await api("POST", "/slips/batches")).batch.id));
    $("scan-form").addEventListener("submit", (ev) => { ev.preventDefault(); check($("code").value.trim()); });
    $("skip").addEventListener("click", skip);
    $("print-summary").addEventListener("click", () => window.print());
    $("finish").addEventListener("click", () => finish().catch((err) => status(err.message, "refused")));
    document.addEventListener("keydown", (ev) => {
      if (!pending) return;
      if (ev.key >= "1" && ev.key <= "5") { ev.preventDefault(); choose(Number(ev.key)); }
      if (ev.key === "Escape") { ev.preventDefault(); skip(); }
    });
    const open = Sup.store.get("slip_batch");
    if (open) {
      try {
        const b = (await api("GET", "/slips/batches/" + open)).batch;
        if (!b.closed_at) scanning(open);
      } catch (e) { Sup.store.set("slip_batch", null); }
    }
  }
  start().catch((err) => status(err.message, "refused"));
})();
