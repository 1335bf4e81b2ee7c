/* 设备管理: which kiosks, displays, LED strips and rating devices are online, what they report,
 * and their open alerts — live: `device.alert` / `device.ok` / `device.revoked` /
 * `device.token_rotated` on /hall reload the list, and it is re-read every REFRESH_MS so
 * "last seen" and online/offline stay true. An admin may give a device a new token (shown once,
 * in a dialog) or stop it.
 * Login as on the window caller page: the API token is kept in sessionStorage.
 */
(function () {
  "use strict";

  var API = "/api/v1";
  var KEY = "hall.admin.";
  var REFRESH_MS = 10000;
  var STATE_WORDS = { online: "在线", offline: "离线", never: "未连接过", revoked: "已停用" };
  var PART_WORDS = { printer: "打印机", serial: "串口", socket: "实时连接", keypad: "评价键盘", led: "窗口屏",
                     voice: "语音", screen: "屏幕" };
  var VALUE_WORDS = { ok: "正常", paper_out: "缺纸", paper_low: "纸将用尽", offline: "离线", error: "故障",
                      cover_open: "纸仓盖打开", jam: "卡纸", disconnected: "未连接", blocked: "待点击启用" };
  var BAD = { paper_out: 1, offline: 1, error: 1, cover_open: 1, jam: 1, disconnected: 1, cutter_error: 1 };

  var $ = function (id) { return document.getElementById(id); };
  var S = { token: null, staff: null, devices: [], socket: null, timer: null };

  function load(name) { try { return JSON.parse(sessionStorage.getItem(KEY + name)); } catch (e) { return null; } }
  function save(name, v) {
    try { if (v === null) sessionStorage.removeItem(KEY + name); else sessionStorage.setItem(KEY + name, JSON.stringify(v)); }
    catch (e) { /* private mode: forget on reload */ }
  }

  function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    var sent = S.token;
    if (sent) headers["Authorization"] = "Bearer " + sent;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(API + path, { method: method, headers: headers, cache: "no-store",
                               body: body === undefined ? undefined : JSON.stringify(body) })
      .catch(function () { var e = new Error("无法连接服务器"); e.status = 0; throw e; })
      .then(function (res) {
        return res.json().catch(function () { return null; }).then(function (data) {
          if (res.status === 401 && sent && window.HallSession) {
            // Renewed while this request was on its way (staff_session.js): retry with the new token.
            return HallSession.settled().then(function () {
              if (S.token && S.token !== sent) return api(method, path, body);
              var e = new Error((data && data.error && data.error.message) || "HTTP 401");
              e.status = 401;
              throw e;
            });
          }
          if (!res.ok) {
            var e = new Error((data && data.error && data.error.message) || ("HTTP " + res.status));
            e.status = res.status;
            throw e;
          }
          return data;
        });
      });
  }

  function message(text, kind) {
    var box = $("message");
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
      .then(function (data) {
        if (data.staff.role !== "admin" && data.staff.role !== "supervisor") {
          S.token = data.token;
          api("POST", "/auth/logout").catch(function () {});
          S.token = null;
          showLogin("设备管理需要管理员或督查账号");
          return;
        }
        S.token = data.token; S.staff = data.staff;
        save("token", S.token); save("staff", S.staff);
        HallSession.started(KEY, data.expires_in);
        start();
      })
      .catch(function (err) { showLogin(err.message); });
  }

  function logout() {
    if (S.token) api("POST", "/auth/logout").catch(function () {});
    end("您已退出登录");
  }

  function end(text) {
    if (S.socket) { S.socket.offAny(); S.socket.disconnect(); S.socket = null; }
    clearInterval(S.timer);
    S.token = null; S.staff = null;
    save("token", null); save("staff", null);
    HallSession.ended(KEY);
    showLogin(text);
  }

  // ------------------------------------------------------------------ the list
  function refresh() {
    return api("GET", "/devices").then(function (data) {
      S.devices = data.devices || [];
      $("note").textContent = "超过 " + data.quiet_after + " 秒没有心跳即为离线并告警";
      render();
    }).catch(function (err) {
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
    var td = document.createElement("td");
    if (cls) td.className = cls;
    if (text !== undefined) td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function render() {
    var rows = $("device-rows");
    rows.textContent = "";
    var n = { online: 0, offline: 0, never: 0, alerts: 0 };
    S.devices.forEach(function (d) {
      if (n[d.state] !== undefined) n[d.state]++;
      if (d.alerts.length) n.alerts++;
      var tr = document.createElement("tr");
      tr.dataset.state = d.state;
      tr.dataset.id = d.id;
      if (d.alerts.length) tr.classList.add("alerting");
      cell(tr, d.name, "name");
      cell(tr, d.kind_name);
      cell(tr, d.window ? d.window.number + "号 " + d.window.name : "—");
      var st = cell(tr);
      var pill = document.createElement("span");
      pill.className = "state " + d.state;
      pill.textContent = STATE_WORDS[d.state] || d.state;
      st.appendChild(pill);
      var seen = cell(tr, "", "seen");
      if (d.last_seen_at) {
        seen.appendChild(document.createTextNode(d.last_seen_at.slice(5, 16).replace("T", " ")));
        var small = document.createElement("small");
        small.textContent = ago(d.seconds_since_seen);
        seen.appendChild(small);
      } else {
        seen.textContent = "—";
      }
      var chips = cell(tr, "", "status");
      Object.keys(d.status || {}).forEach(function (k) {
        var v = d.status[k];
        var chip = document.createElement("span");
        chip.className = "chip" + (BAD[v] ? " bad" : "");
        chip.textContent = (PART_WORDS[k] || k) + "：" + (VALUE_WORDS[v] || String(v));
        chips.appendChild(chip);
      });
      var alerts = cell(tr, "", "alerts");
      d.alerts.forEach(function (a) {
        var div = document.createElement("div");
        div.className = "alert";
        div.textContent = a.message;
        alerts.appendChild(div);
      });
      var act = cell(tr, "", "act");
      if (S.staff && S.staff.role === "admin" && !d.revoked) {
        if (d.kind === "kiosk") act.appendChild(button("配对码", "hall-btn small", function () { pairingCode(d); }));
        act.appendChild(button("更换令牌", "hall-btn small", function () { rotate(d); }));
        act.appendChild(button("停用", "hall-btn small danger", function () { revoke(d); }));
      }
      rows.appendChild(tr);
    });
    $("n-online").textContent = n.online;
    $("n-offline").textContent = n.offline;
    $("n-never").textContent = n.never;
    $("n-alerts").textContent = n.alerts;
  }

  function button(text, cls, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  // Where the new token goes on each kind of device (README, kiosk/README.md, display/README.md).
  var TOKEN_HOWTO = {
    kiosk: "取号机：python -m kiosk --server 服务器地址 --token 新令牌 …",
    display: "综合屏：浏览器打开 /display#token=新令牌",
    rater: "评价器：平板打开 /rater#token=新令牌（键盘评价器：python -m display.keypad --token 新令牌 …）",
    led: "窗口屏：python -m display.led --server 服务器地址 --token 新令牌 …"
  };

  function rotate(d) {
    if (!window.confirm("为设备「" + d.name + "」更换令牌？旧令牌立即失效，设备需改用新令牌才能重新连接。")) return;
    api("POST", "/devices/" + d.id + "/token").then(function (data) {
      $("token-device").textContent = d.name + "（" + d.kind_name + "）";
      $("token-value").textContent = data.token;
      $("token-how").textContent = TOKEN_HOWTO[d.kind] || "";
      $("token-dialog").showModal();
      message("已更换令牌：" + d.name, "info");
      refresh();
    }).catch(function (err) { message(err.message, "error"); });
  }

  // A one-time code for an in-server kiosk browser (/kiosk/): typed there once, it pairs the browser.
  function pairingCode(d) {
    api("POST", "/devices/" + d.id + "/pairing-code").then(function (data) {
      $("token-title").textContent = "取号机配对码";
      $("token-device").textContent = d.name + "（" + d.kind_name + "）";
      $("token-value").textContent = data.code;
      $("token-how").textContent = "在取号机页面 /kiosk/ 的“本机尚未配对”处输入，" + data.minutes + " 分钟内有效，只能用一次";
      $("token-dialog").showModal();
    }).catch(function (err) { message(err.message, "error"); });
  }

  function closeTokenDialog() {
    $("token-title").textContent = "新的设备令牌";
    $("token-value").textContent = "";   // shown once: gone from the page when closed
    $("token-dialog").close();
  }

  function revoke(d) {
    if (!window.confirm("停用设备「" + d.name + "」？停用后它的令牌立即失效，需在配置中换新令牌才能恢复。")) return;
    api("POST", "/devices/" + d.id + "/revoke").then(function () {
      message("已停用：" + d.name, "info");
      refresh();
    }).catch(function (err) { message(err.message, "error"); });
  }

  // ------------------------------------------------------------------ live
  function connect() {
    if (typeof io !== "function") { refresh(); return; }
    var s = S.socket = io("/hall", { auth: function (cb) { cb({ token: S.token }); },   // renewed tokens too
                                      reconnectionDelay: 1000, reconnectionDelayMax: 3000 });
    var pill = $("conn-state");
    pill.hidden = false;
    function state(ok) { pill.textContent = ok ? "实时连接" : "连接中断"; pill.className = "pill " + (ok ? "ok" : "bad"); }
    state(false);
    s.on("connect", function () { state(true); refresh(); });
    s.on("disconnect", function () { state(false); });
    s.on("connect_error", function () { state(false); });
    s.onAny(function (name, ev) {
      if (name.indexOf("device.") !== 0) return;
      if (name === "device.alert" && ev && ev.device) {
        message("告警：" + ev.device.name + " — " + ev.alerts.map(function (a) { return a.message; }).join("；"), "error");
      } else if (name === "device.ok" && ev && ev.device) {
        message("已恢复：" + ev.device.name, "info");
      }
      refresh();
    });
  }

  function start() {
    HallSession.keep({ prefix: KEY, token: function () { return S.token; },
                       renewed: function (token) { S.token = token; save("token", token); } });
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
    $("token-dialog").addEventListener("close", function () { $("token-value").textContent = ""; });
    $("btn-logout").addEventListener("click", logout);
    S.token = load("token");
    S.staff = load("staff");
    if (S.token) start(); else showLogin("");
    window.hallDevices = S;
  }

  init();
})();
