/* 设备管理: which kiosks, displays, LED strips and rating devices are online, what they report,
 * and their open alerts — live: `device.alert` / `device.ok` / `device.revoked` /
 * `device.token_rotated` on /hall reload the list, and it is re-read every REFRESH_MS so
 * "last seen" and online/offline stay true. An admin may give a device a new token (shown once,
 * in a dialog) or stop it.
 * Login as on the window caller page: the API token is kept in sessionStorage.
 */
(() => {
  "use strict";

  const KEY = "hall.admin.";
  const REFRESH_MS = 10000;
  const STATE_WORDS = { online: "在线", offline: "离线", never: "未连接过", revoked: "已停用" };
  const PART_WORDS = { printer: "打印机", serial: "串口", socket: "实时连接", keypad: "评价键盘", led: "窗口屏",
                     voice: "语音", screen: "屏幕" };
  const VALUE_WORDS = { ok: "正常", paper_out: "缺纸", paper_low: "纸将用尽", offline: "离线", error: "故障",
                      cover_open: "纸仓盖打开", jam: "卡纸", disconnected: "未连接", blocked: "待点击启用" };
  const BAD = { paper_out: 1, offline: 1, error: 1, cover_open: 1, jam: 1, disconnected: 1, cutter_error: 1 };

  const $ = (id) => document.getElementById(id);
  const S = { token: null, staff: null, devices: [], stream: null, timer: null };

  function load(name) { try { return JSON.parse(sessionStorage.getItem(KEY + name)); } catch (e) { return null; } }
  function save(name, v) {
    try { if (v === null) sessionStorage.removeItem(KEY + name); else sessionStorage.setItem(KEY + name, JSON.stringify(v)); }
    catch (e) { /* private mode: forget on reload */ }
  }

  const api = HallApi.client(() => S.token);

  function message(text, kind) {
    const box = $("message");
    box.textContent = text || "";
    box.className = "message " + (kind || "info");
    box.hidden = !text;
  }

  // ------------------------------------------------------------------ session
  function showLogin(text) {
    $("devices-view").hidden = true;
    $("login-view").hidden = false;
    $("btn-logout").hidden = true;
    $("who").textContent = "";
    $("login-error").hidden = !text;
    $("login-error").textContent = text || "";
  }

  function onLogin(ev) {
    ev.preventDefault();
    api("POST", "/auth/login", { username: $("login-username").value.trim(), password: $("login-password").value })
      .then((data) => {
        if (data.staff.role !== "admin" && data.staff.role !== "supervisor") {
          S.token = data.token;
          api("POST", "/auth/logout").catch(() => {});
          S.token = null;
          showLogin("设备管理需要管理员或督查账号");
          return;
        }
        S.token = data.token; S.staff = data.staff;
        save("token", S.token); save("staff", S.staff);
        HallSession.started(KEY, data.expires_in);
        start();
      })
      .catch((err) => { showLogin(err.message); });
  }

  function logout() {
    if (S.token) api("POST", "/auth/logout").catch(() => {});
    end("您已退出登录");
  }

  function end(text) {
    if (S.stream) { S.stream.stop(); S.stream = null; }
    clearInterval(S.timer);
    S.token = null; S.staff = null;
    save("token", null); save("staff", null);
    HallSession.ended(KEY);
    showLogin(text);
  }

  // ------------------------------------------------------------------ the list
  function refresh() {
    return api("GET", "/devices").then((data) => {
      S.devices = data.devices || [];
      $("note").textContent = "超过 " + data.quiet_after + " 秒没有心跳即为离线并告警";
      render();
    }).catch((err) => {
      if (err.status === 401) end("登录已失效，请重新登录");
      else message(err.message, "error");
    });
  }

  function ago(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 60) return seconds + " 秒前";
    if (seconds < 3600) return Math.floor(seconds / 60) + " 分钟前";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " 小时前";
    return Math.floor(seconds / 86400) + " 天前";
  }

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    if (text !== undefined) td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function render() {
    const rows = $("device-rows");
    rows.textContent = "";
    const n = { online: 0, offline: 0, never: 0, alerts: 0 };
    S.devices.forEach((d) => {
      if (n[d.state] !== undefined) n[d.state]++;
      if (d.alerts.length) n.alerts++;
      const tr = document.createElement("tr");
      tr.dataset.state = d.state;
      tr.dataset.id = d.id;
      if (d.alerts.length) tr.classList.add("alerting");
      cell(tr, d.name, "name");
      cell(tr, d.kind_name);
      cell(tr, d.window ? d.window.number + "号 " + d.window.name : "—");
      const st = cell(tr);
      const pill = document.createElement("span");
      pill.className = "state " + d.state;
      pill.textContent = STATE_WORDS[d.state] || d.state;
      st.appendChild(pill);
      const seen = cell(tr, "", "seen");
      if (d.last_seen_at) {
        seen.appendChild(document.createTextNode(d.last_seen_at.slice(5, 16).replace("T", " ")));
        const small = document.createElement("small");
        small.textContent = ago(d.seconds_since_seen);
        seen.appendChild(small);
      } else {
        seen.textContent = "—";
      }
      const chips = cell(tr, "", "status");
      Object.keys(d.status || {}).forEach((k) => {
        const v = d.status[k];
        const chip = document.createElement("span");
        chip.className = "chip" + (BAD[v] ? " bad" : "");
        chip.textContent = (PART_WORDS[k] || k) + "：" + (VALUE_WORDS[v] || String(v));
        chips.appendChild(chip);
      });
      const alerts = cell(tr, "", "alerts");
      d.alerts.forEach((a) => {
        const div = document.createElement("div");
        div.className = "alert";
        div.textContent = a.message;
        alerts.appendChild(div);
      });
      const act = cell(tr, "", "act");
      if (S.staff && S.staff.role === "admin" && !d.revoked) {
        if (d.kind === "kiosk") act.appendChild(button("配对码", "hall-btn small", () => { pairingCode(d); }));
        act.appendChild(button("更换令牌", "hall-btn small", () => { rotate(d); }));
        act.appendChild(button("停用", "hall-btn small danger", () => { revoke(d); }));
      }
      rows.appendChild(tr);
    });
    $("n-online").textContent = n.online;
    $("n-offline").textContent = n.offline;
    $("n-never").textContent = n.never;
    $("n-alerts").textContent = n.alerts;
  }

  function button(text, cls, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  // Where the new token goes on each kind of device (README, kiosk/README.md, display/README.md).
  const TOKEN_HOWTO = {
    kiosk: "取号机：python -m kiosk --server 服务器地址 --token 新令牌 …",
    display: "综合屏：浏览器打开 /display#token=新令牌",
    rater: "评价器：平板打开 /rater#token=新令牌（键盘评价器：python -m display.keypad --token 新令牌 …）",
    led: "窗口屏：python -m display.led --server 服务器地址 --token 新令牌 …"
  };

  function rotate(d) {
    if (!window.confirm("为设备「" + d.name + "」更换令牌？旧令牌立即失效，设备需改用新令牌才能重新连接。")) return;
    api("POST", "/devices/" + d.id + "/token").then((data) => {
      $("token-device").textContent = d.name + "（" + d.kind_name + "）";
      $("token-value").textContent = data.token;
      $("token-how").textContent = TOKEN_HOWTO[d.kind] || "";
      $("token-dialog").showModal();
      message("已更换令牌：" + d.name, "info");
      refresh();
    }).catch((err) => { message(err.message, "error"); });
  }

  // A one-time code for an in-server kiosk browser (/kiosk/): typed there once, it pairs the browser.
  function pairingCode(d) {
    api("POST", "/devices/" + d.id + "/pairing-code").then((data) => {
      $("token-title").textContent = "取号机配对码";
      $("token-device").textContent = d.name + "（" + d.kind_name + "）";
      $("token-value").textContent = data.code;
      $("token-how").textContent = "在取号机页面 /kiosk/ 的“本机尚未配对”处输入，" + data.minutes + " 分钟内有效，只能用一次";
      $("token-dialog").showModal();
    }).catch((err) => { message(err.message, "error"); });
  }

  function closeTokenDialog() {
    $("token-title").textContent = "新的设备令牌";
    $("token-value").textContent = "";   // shown once: gone from the page when closed
    $("token-dialog").close();
  }

  function revoke(d) {
    if (!window.confirm("停用设备「" + d.name + "」？停用后它的令牌立即失效，需在配置中换新令牌才能恢复。")) return;
    api("POST", "/devices/" + d.id + "/revoke").then(() => {
      message("已停用：" + d.name, "info");
      refresh();
    }).catch((err) => { message(err.message, "error"); });
  }

  // ------------------------------------------------------------------ live
  function connect() {
    const pill = $("conn-state");
    function state(ok) { pill.textContent = ok ? "实时连接" : "连接中断"; pill.className = "pill " + (ok ? "ok" : "bad"); }
    pill.hidden = false;
    state(false);
    S.stream = new HallStream({
      token: () => S.token,   // renewed tokens too
      onSnapshot: () => { refresh(); },    // on every (re)connect, and after a gap
      onEvent: (ev) => {
        if (ev.type.indexOf("device.") !== 0) return;
        if (ev.type === "device.alert" && ev.device) {
          message("告警：" + ev.device.name + " — " + ev.alerts.map((a) => a.message).join("；"), "error");
        } else if (ev.type === "device.ok" && ev.device) {
          message("已恢复：" + ev.device.name, "info");
        }
        refresh();
      },
      onStatus: state
    });
    S.stream.start();
  }

  function start() {
    HallSession.keep({ prefix: KEY, token: () => S.token,
                       renewed: (token) => { S.token = token; save("token", token); } });
    $("login-view").hidden = true;
    $("devices-view").hidden = false;
    $("btn-logout").hidden = false;
    $("who").textContent = S.staff ? S.staff.name + "（" + (S.staff.role === "admin" ? "管理员" : "督查") + "）" : "";
    refresh();
    connect();
    S.timer = setInterval(refresh, REFRESH_MS);
  }

  function init() {
    $("login-form").addEventListener("submit", onLogin);
    $("token-close").addEventListener("click", closeTokenDialog);
    $("token-dialog").addEventListener("close", () => { $("token-value").textContent = ""; });
    $("btn-logout").addEventListener("click", logout);
    S.token = load("token");
    S.staff = load("staff");
    if (S.token) start(); else showLogin("");
    window.hallDevices = S;
  }

  init();
})();
