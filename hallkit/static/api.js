/* The REST API for every page: JSON in and out, the page's bearer token if it has one (a device
 * token or a staff login), and every failure as one shape, an ApiError {code, message, status,
 * detail}, whose `message` is the Chinese sentence to show people (the server's own when it
 * sent one).
 *
 *   HallApi.call("GET", "/matters")                                  public
 *   HallApi.call("POST", "/ratings", { token, body })                a device
 *   const api = HallApi.client(() => S.token);  api("GET", "/me")    a staff page
 *
 * A staff page's client asks once more when a 401 came back while session.js was trading the
 * token for a new one (the old one stops working at once).
 */
(() => {
  "use strict";

  const ROOT = "/api/v1";

  class ApiError extends Error {
    constructor(code, message, status, detail) {
      super(message);
      this.name = "ApiError";
      this.code = code;
      this.status = status;
      this.detail = detail;
    }
  }

  /** The server's error body ({"error": {code, message, detail}}) or words for a bare status. */
  function failure(status, data) {
    const err = (data && data.error) || {};
    return new ApiError(err.code || "http_" + status,
                        err.message || "服务器错误（" + status + "），请稍后再试", status, err.detail);
  }

  /** One request. `root` is another API's prefix (the kiosk's own backend); `raw` answers the
   *  Response itself when it is OK (a download). */
  async function call(method, path, { token, body, raw, root = ROOT } = {}) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(root + path, { method, headers, cache: "no-store",
                                       body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError("network", "无法连接服务器，请检查网络后重试", 0);
    }
    if (raw && res.ok) return res;
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) throw failure(res.status, data);
    return data;
  }

  /** `api(method, path, body, options)` with the token `token()` holds at the time of the call. */
  function client(token) {
    const ask = async (method, path, body, options = {}) => {
      const sent = token();
      try {
        return await call(method, path, { ...options, token: sent, body });
      } catch (err) {
        if (err.status === 401 && sent && window.HallSession) {
          await window.HallSession.settled();
          if (token() && token() !== sent) return ask(method, path, body, options);
        }
        throw err;
      }
    };
    return ask;
  }

  /** Anything a page caught, as an ApiError: a bug in the page says so in words too. */
  function asApiError(err) {
    if (err instanceof ApiError) return err;
    if (window.console) console.error(err);
    return new ApiError("client", "页面出错：" + (err && err.message ? err.message : err), 0);
  }

  window.HallApi = { call, client, ApiError, asApiError };
})();
