/* What the supervisor's pages share: login with the staff API (token in sessionStorage), calls
   with the token, formatting. A 401 ends the session and shows the login again; while someone
   works, the kit's session.js renews the token before it ends. */
(() => {
  "use strict";
  // A page may keep its own login (the case desk is for clerks too): <body data-store data-roles>.
  const KEY = document.body.dataset.store || "hall.supervisor.";
  const ROLES = (document.body.dataset.roles || "supervisor,admin").split(",");
  const store = {
    get(name) { try { return JSON.parse(sessionStorage.getItem(KEY + name)); } catch (e) { return null; } },
    set(name, value) { if (value === null) sessionStorage.removeItem(KEY + name); else sessionStorage.setItem(KEY + name, JSON.stringify(value)); },
  };

  const ask = HallApi.client(() => store.get("token"));

  /** The kit's API call; a 401 (but a refused login) ends the session and shows the login again. */
  async function api(method, path, body, raw) {
    try {
      return await ask(method, path, body, {raw});
    } catch (err) {
      if (err.status === 401 && path !== "/auth/login") {
        HallSession.ended(KEY);
        store.set("token", null);
        store.set("staff", null);
        location.reload();
        throw new HallApi.ApiError(err.code, "登录已失效，请重新登录", 401);
      }
      throw err;
    }
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (v === null || v === undefined || v === false) return;
      if (k === "onclick") node.addEventListener("click", v);
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v === true ? "" : v);
    });
    children.flat().forEach((c) => { if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c)); });
    return node;
  }

  function time(iso) { return iso ? iso.slice(0, 16).replace("T", " ") : ""; }
  function day(d) { return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0"); }
  function pct(v) { return v === null || v === undefined ? "—" : v.toFixed(1) + "%"; }
  function dur(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Math.round(seconds);
    if (s < 60) return s + "秒";
    if (s < 3600) return Math.floor(s / 60) + "分" + (s % 60 ? String(s % 60).padStart(2, "0") + "秒" : "");
    if (s < 86400) return Math.floor(s / 3600) + "小时" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "分";
    return (s / 86400).toFixed(1) + "天";
  }

  /* Show the login form in `root` unless a supervisor or admin is logged in; resolves with the staff. */
  function login(root, title) {
    return askLogin(root, title).then((staff) => {
      HallSession.keep({prefix: KEY, token: () => store.get("token"), renewed: (token) => store.set("token", token)});
      return staff;
    });
  }

  function askLogin(root, title) {
    const staff = store.get("staff");
    if (store.get("token") && staff) return Promise.resolve(staff);
    return new Promise((resolve) => {
      const error = el("p", {class: "message error", role: "alert"});
      const user = el("input", {name: "username", autocomplete: "username", required: true, maxlength: "64"});
      const pass = el("input", {name: "password", type: "password", autocomplete: "current-password", required: true, maxlength: "200"});
      const form = el("form", {class: "login"}, el("h1", {}, title),
        el("label", {}, "用户名", user), el("label", {}, "密码", pass), error,
        el("button", {type: "submit", class: "hall-btn primary"}, "登　录"));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        error.textContent = "";
        try {
          const data = await api("POST", "/auth/login", {username: user.value.trim(), password: pass.value});
          if (!ROLES.includes(data.staff.role)) {
            error.textContent = ROLES.includes("clerk") ? "本页面供窗口人员、督查人员和管理员使用" : "只有督查人员和管理员可以使用本页面";
            return;
          }
          store.set("token", data.token);
          store.set("staff", data.staff);
          HallSession.started(KEY, data.expires_in);
          form.remove();
          resolve(data.staff);
        } catch (err) { error.textContent = err.message; }
      });
      root.append(form);
      user.focus();
    });
  }

  async function logout() {
    try { await api("POST", "/auth/logout"); } catch (e) { /* the session ends here anyway */ }
    store.set("token", null);
    store.set("staff", null);
    HallSession.ended(KEY);
    location.reload();
  }

  async function download(path, fallbackName) {
    const res = await api("GET", path, undefined, true);
    const blob = await res.blob();
    const header = res.headers.get("Content-Disposition") || "";
    const match = /filename\*=UTF-8''([^;]+)/.exec(header);
    const a = el("a", {href: URL.createObjectURL(blob), download: match ? decodeURIComponent(match[1]) : fallbackName});
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  window.Sup = {api, el, time, day, pct, dur, login, logout, download, store};
})();
