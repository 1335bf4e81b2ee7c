/* The printable monthly report: the server renders it; this page fetches it with the token. */
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);

  async function load(month) {
    const res = await Sup.api("GET", "/supervision/report?format=html&month=" + month, undefined, true);
    $("report").innerHTML = await res.text();  // server-rendered, escaped by Jinja
    document.title = "月度通报 " + month;
    history.replaceState(null, "", "?month=" + month);
  }

  async function start() {
    await Sup.login($("login-root"), "月度通报 · 督查人员登录");
    $("who").hidden = false;
    const wanted = new URLSearchParams(location.search).get("month");
    const live = await Sup.api("GET", "/supervision/live");
    const now = new Date(live.at.slice(0, 10) + "T00:00:00");
    const last = new Date(now.getFullYear(), now.getMonth() - 1, 1);
    const month = wanted || (last.getFullYear() + "-" + String(last.getMonth() + 1).padStart(2, "0"));
    $("month").value = month;
    $("month").addEventListener("change", () => load($("month").value).catch((e) => { $("message").textContent = e.message; }));
    $("print").addEventListener("click", () => window.print());
    await load(month);
  }
  start().catch((e) => { $("message").textContent = e.message; });
})();
