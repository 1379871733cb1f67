/* The account page: log out everywhere; the administrators' tables (accounts, locks, the audit log). */
(function () {
  "use strict";
  function cell(row, text) { var td = document.createElement("td"); td.textContent = text == null ? "" : text; row.appendChild(td); return td; }
  function button(td, text, onClick) {
    var b = document.createElement("button"); b.type = "button"; b.textContent = text;
    b.addEventListener("click", onClick); td.appendChild(b);
  }
  function fill(section, rows, draw) {
    var body = document.querySelector(section + " tbody");
    if (!body) return;
    body.innerHTML = "";
    rows.forEach(function (r) { var tr = document.createElement("tr"); draw(tr, r); body.appendChild(tr); });
  }

  function accounts() {
    GG.api("/api/accounts").then(function (rows) {
      fill("#ac-accounts", rows, function (tr, a) {
        cell(tr, a.name); cell(tr, GG.label("role", a.role)); cell(tr, a.area);
        cell(tr, a.active ? "启用" : "停用"); cell(tr, a.sessions);
        var td = cell(tr, "");
        if (["sysadmin", "secadmin", "auditor"].indexOf(a.role) >= 0 || a.name === document.body.dataset.user) return;
        button(td, a.active ? "停用" : "启用", function () {
          GG.api("/api/accounts/" + encodeURIComponent(a.name) + (a.active ? "/disable" : "/enable"), { method: "POST" })
            .then(accounts).catch(GG.fail);
        });
      });
    }).catch(GG.fail);
  }

  function locks() {
    GG.api("/api/security/locks").then(function (rows) {
      fill("#ac-locks", rows, function (tr, l) {
        cell(tr, l.kind === "account" ? "账号" : "地址"); cell(tr, l.subject);
        cell(tr, GG.fmtTime(l.locked_at)); cell(tr, GG.fmtTime(l.until));
        button(cell(tr, ""), "解锁", function () {
          GG.api("/api/security/unlock", { method: "POST", body: { kind: l.kind, subject: l.subject } })
            .then(locks).catch(GG.fail);
        });
      });
    }).catch(GG.fail);
  }

  function auditLog() {
    GG.api("/api/audit?limit=50").then(function (page) {
      fill("#ac-audit", page.items, function (tr, r) {
        cell(tr, r.seq); cell(tr, GG.fmtTime(r.at)); cell(tr, r.actor); cell(tr, r.action);
        cell(tr, (r.target_table || "") + (r.target_id ? " " + r.target_id : ""));
      });
    }).catch(GG.fail);
    var verify = document.getElementById("ac-verify");
    if (verify) verify.addEventListener("click", function () {
      GG.api("/api/audit/verify").then(function (r) {
        document.getElementById("ac-verify-result").textContent = r.intact
          ? "完整：共 " + r.rows + " 条" : "第 " + r.broken_seq + " 条起不符：" + r.problem;
      }).catch(GG.fail);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.getElementById("ac-logout-all").addEventListener("click", function () {
      GG.api("/api/auth/logout?everywhere=true", { method: "POST" }).catch(function () {})
        .then(function () { location.href = GG.url("login"); });
    });
    if (document.getElementById("ac-accounts")) accounts();
    if (document.getElementById("ac-locks")) locks();
    if (document.getElementById("ac-audit")) auditLog();
  });
})();
