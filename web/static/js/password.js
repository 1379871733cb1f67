/* The change-password page: who is logged in (/api/auth/me), then POST /api/auth/password with the
 * CSRF header of the login cookie; the answer is the new login (its cookies), then on to the role's page. */
(function () {
  "use strict";
  function cookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }
  // The app's base path behind a reverse proxy (GRID_API_ROOT_PATH), from <body data-base>.
  var BASE = document.body.getAttribute("data-base") || "";
  var msg = document.getElementById("msg");
  function say(text, ok) { msg.textContent = text; msg.className = "msg " + (ok ? "ok" : "error"); }

  fetch(BASE + "/api/auth/me", { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (me) {
      if (!me) { location.href = BASE + "/login?next=" + encodeURIComponent(BASE + "/password"); return; }
      document.getElementById("who").textContent = "账号 " + me.name + "（" + me.role_label + "）" +
        (me.password_change_required ? "：首次登录、密码已过期或已被重置，请先修改密码。" : "");
    });

  document.getElementById("password-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var next = document.getElementById("new").value;
    if (next !== document.getElementById("again").value) { say("两次输入的新密码不一致"); return; }
    fetch(BASE + "/api/auth/password", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": cookie("gridgov_csrf") },
      body: JSON.stringify({ current_password: document.getElementById("current").value, new_password: next }),
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { say((body && body.detail) || "修改失败"); return; }
        say("密码已修改，正在进入……", true);
        location.href = body.redirect || BASE + "/";
      });
    }).catch(function () { say("网络错误，请重试"); });
  });
})();
