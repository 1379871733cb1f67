/* Shared by every console view: the one HTTP client, Chinese/English text, the map factory, formatting.
 * Plain JS on purpose: the console is served from an intranet box with no build step.
 *
 * Two things come embedded in every page (base.html, never executed): the product's words
 * (#gg-vocab, geo.vocabulary: statuses, kinds, severities, grades, roles, levels, referrals, sources,
 * timeline actions) read through GG.label, and the county's time zone (#gg-clock) in which GG.fmtTime
 * shows every time. DICT below holds only the console's own chrome (buttons, panel titles, messages). */
(function () {
  "use strict";
  var GG = (window.GG = {});

  function embedded(id) {
    var el = document.getElementById(id);
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  }
  var VOCAB = embedded("gg-vocab");
  GG.vocab = VOCAB;
  /** The county's zone (geo.clock.zone(), setting GRID_TIME_ZONE); the device's own zone is never used. */
  GG.zone = embedded("gg-clock").zone || "Asia/Shanghai";

  /* ---------- text: zh is the default, en on request (kept in localStorage) ---------- */
  var DICT = {
    zh: {
      "app.title": "网格化社会治理指挥平台", "view.commander": "指挥大屏", "view.dispatcher": "调度台",
      "view.planner": "研判分析", "view.worker": "网格员",
      "label.area": "辖区", "btn.logout": "退出",
      "label.severity": "严重程度", "label.reported_at": "上报时间", "label.deadline": "办理时限",
      "label.grid": "所在网格", "label.level": "层级", "msg.pick": "请在左侧选择案件",
      "fig.new_disputes": "今日新增纠纷", "fig.new_hazards": "今日新增隐患", "fig.open": "在办案件",
      "fig.overdue": "超期案件", "fig.resolution_rate": "化解率（近30天）", "fig.wage_recovered": "追回欠薪（今年）",
      "fig.on_duty": "在岗网格员", "fig.day": "统计日", "fig.visit_coverage": "今日走访覆盖率",
      "layer.tracks": "今日巡查轨迹", "layer.visits": "今日入户走访", "layer.coverage": "今日走访覆盖",
      "panel.unvisited": "本周未走访网格",
      "layer.townships": "乡镇（街道）", "layer.villages": "村（社区）", "layer.grids": "网格",
      "layer.events": "在办案件", "layer.workers": "在岗网格员", "layer.facilities": "综治设施", "layer.risk": "风险三色图",
      "panel.feed": "实时动态", "panel.duty": "在岗网格员", "panel.queue": "待派遣案件", "panel.case": "案件详情",
      "panel.candidates": "候选网格员", "panel.timeline": "办理过程",
      "live.connected": "已连接", "live.waiting": "连接中…",
      "btn.assign": "派遣", "btn.escalate": "上报升级", "btn.refer": "移交", "btn.whistle": "吹哨报到",
      "msg.done": "已完成", "msg.empty": "暂无", "msg.overdue": "超期",
      "crumb.county": "全县", "msg.deadline_provisional": "时限待定（节假日安排未导入）",
      "time.note": "页面时间均为{zone}（{offset}）", "time.beijing": "北京时间",
      "unit.m": "米", "unit.km": "公里", "unit.yuan": "元", "unit.load": "在办",
    },
    en: {
      "app.title": "Grid Governance Command Platform", "view.commander": "Command screen",
      "view.dispatcher": "Dispatch desk", "view.planner": "Analysis", "view.worker": "Grid worker",
      "label.area": "Area", "btn.logout": "Log out",
      "label.severity": "Severity", "label.reported_at": "Reported", "label.deadline": "Deadline",
      "label.grid": "Grid", "label.level": "Level", "msg.pick": "Pick a case on the left",
      "fig.new_disputes": "New disputes today", "fig.new_hazards": "New hazards today", "fig.open": "Open cases",
      "fig.overdue": "Overdue", "fig.resolution_rate": "Resolved (30 days)",
      "fig.wage_recovered": "Wages recovered (year)", "fig.on_duty": "Workers on duty", "fig.day": "Day",
      "fig.visit_coverage": "Visit coverage today", "layer.tracks": "Patrol tracks today",
      "layer.visits": "Household visits today", "layer.coverage": "Coverage today", "panel.unvisited": "Not visited this week",
      "layer.townships": "Townships", "layer.villages": "Villages", "layer.grids": "Grids",
      "layer.events": "Open cases", "layer.workers": "Workers on duty", "layer.facilities": "Facilities",
      "layer.risk": "Risk colours",
      "panel.feed": "Live feed", "panel.duty": "On duty", "panel.queue": "Unassigned queue", "panel.case": "Case",
      "panel.candidates": "Candidate workers", "panel.timeline": "Timeline",
      "live.connected": "connected", "live.waiting": "connecting…",
      "btn.assign": "Assign", "btn.escalate": "Escalate", "btn.refer": "Refer", "btn.whistle": "Whistle",
      "msg.done": "Done", "msg.empty": "None", "msg.overdue": "overdue",
      "crumb.county": "County", "msg.deadline_provisional": "deadline provisional (holiday calendar not imported)",
      "time.note": "All times are {zone} ({offset})", "time.beijing": "Beijing time",
      "unit.m": "m", "unit.km": "km", "unit.yuan": "CNY", "unit.load": "open",
    },
  };
  var LANG_KEY = "gridgov_lang";
  GG.lang = localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh";
  GG.dict = DICT;

  /** The text of a key in the current language (Chinese, then the key itself, as fallbacks). */
  GG.t = function (key, fallback) {
    return DICT[GG.lang][key] || DICT.zh[key] || fallback || key;
  };

  /** The label of `key` in a vocabulary table ("status", "kind", "severity", "grade", "role", "level",
   * "referral", "source", "action"): current language, then Chinese, then the key itself. */
  GG.label = function (table, key) {
    if (key === null || key === undefined || key === "") return "";
    function pick(lang) {
      var rows = (VOCAB[lang] || {})[table];
      return rows ? rows[String(key)] : undefined;
    }
    var text = pick(GG.lang);
    if (text === undefined) text = pick("zh");
    return text === undefined ? String(key) : text;
  };

  /** Fill every [data-i18n] (chrome) and [data-vocab="table.key"] (vocabulary) element under root;
   * views call this again after drawing new text. */
  GG.applyI18n = function (root) {
    (root || document).querySelectorAll("[data-i18n]").forEach(function (el) {
      el.textContent = GG.t(el.getAttribute("data-i18n"), el.textContent);
    });
    (root || document).querySelectorAll("[data-vocab]").forEach(function (el) {
      var ref = el.getAttribute("data-vocab");
      var dot = ref.indexOf(".");
      el.textContent = GG.label(ref.slice(0, dot), ref.slice(dot + 1));
    });
    var note = document.getElementById("gg-zone-note");
    if (note) note.textContent = GG.zoneNote();
    document.documentElement.lang = GG.lang === "en" ? "en" : "zh-CN";
    document.querySelectorAll("[data-lang]").forEach(function (b) {
      b.classList.toggle("on", b.getAttribute("data-lang") === GG.lang);
    });
  };

  GG.setLang = function (lang) {
    GG.lang = lang === "en" ? "en" : "zh";
    localStorage.setItem(LANG_KEY, GG.lang);
    GG.applyI18n();
    document.dispatchEvent(new CustomEvent("gg:lang"));
  };

  /* ---------- API calls ---------- */
  function cookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }

  var STATUS_TEXT = {
    400: "请求有误", 401: "登录已过期，请重新登录", 403: "无权执行此操作", 404: "未找到（或不在您的辖区）",
    409: "状态已变化，请刷新后重试", 413: "内容过大", 422: "输入有误", 429: "请求过于频繁",
  };

  /** A readable (Chinese) message from a problem+json body: detail, plus the field it names. */
  GG.problemMessage = function (status, body) {
    var text = (body && (body.detail || body.title)) || STATUS_TEXT[status] || "服务器错误（" + status + "）";
    if (body && body.where) text += "（" + body.where + "）";
    return text;
  };

  /** The console's one HTTP client: fetch with the login cookie and the CSRF header (the API refuses
   * cookie writes without it). options: method, body (JSON, or FormData sent as multipart), headers
   * (e.g. Idempotency-Key). Resolves to the parsed body; rejects with Error(message) carrying .status
   * for an answer that is not 2xx, and with fetch's own TypeError (no .status) when the network failed. */
  GG.api = function (url, options) {
    options = options || {};
    var headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    var method = (options.method || "GET").toUpperCase();
    if (method !== "GET") headers["X-CSRF-Token"] = cookie("gridgov_csrf");
    var init = { method: method, headers: headers, credentials: "same-origin" };
    if (options.body instanceof FormData) {
      init.body = options.body;  // the browser sets the multipart boundary
    } else if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    return fetch(url, init).then(function (resp) {
      var type = resp.headers.get("content-type") || "";
      var parsed = type.indexOf("json") >= 0 ? resp.json() : resp.text();
      return parsed.then(function (body) {
        if (resp.ok) return body;
        if (resp.status === 401) location.href = "/login?next=" + encodeURIComponent(location.pathname);
        var err = new Error(GG.problemMessage(resp.status, typeof body === "object" ? body : null));
        err.status = resp.status;
        throw err;
      });
    });
  };

  /** Show a message for a few seconds (errors in red). */
  GG.toast = function (message, isError) {
    var el = document.getElementById("gg-toast");
    el.textContent = message;
    el.className = "gg-toast" + (isError ? " error" : "");
    el.hidden = false;
    clearTimeout(GG._toastTimer);
    GG._toastTimer = setTimeout(function () { el.hidden = true; }, isError ? 8000 : 3000);
  };
  GG.fail = function (err) { GG.toast(err.message || String(err), true); };

  /* ---------- formatting ---------- */
  /** 620121003017008 -> 620121-003-017-008; shorter prefixes keep their whole groups. */
  GG.fmtCode = function (code) {
    if (!code) return "";
    code = String(code).replace(/-/g, "");
    var parts = [code.slice(0, 6)];
    for (var i = 6; i < code.length; i += 3) parts.push(code.slice(i, i + 3));
    return parts.join("-");
  };
  /** The shortest prefix naming a code: 620121003000000 -> 620121003 (a township). */
  GG.codePrefix = function (code) {
    code = String(code || "").replace(/-/g, "");
    while (code.length > 6 && code.slice(-3) === "000") code = code.slice(0, -3);
    return code;
  };

  /* ---------- times: every one in the county's zone (GG.zone), whatever the device's zone is ---------- */
  var FORMATS = {};
  function formatter(style) {
    if (!FORMATS[style]) {
      var o = { timeZone: GG.zone, hourCycle: "h23" };
      if (style !== "time") { o.month = "2-digit"; o.day = "2-digit"; }
      if (style === "full" || style === "date") o.year = "numeric";
      if (style !== "date") { o.hour = "2-digit"; o.minute = "2-digit"; }
      FORMATS[style] = new Intl.DateTimeFormat("zh-CN", o);
    }
    return FORMATS[style];
  }

  /** The zone's offset at an instant, as "UTC+8" (the device's zone plays no part). */
  GG.zoneOffset = function (when) {
    try {
      var parts = new Intl.DateTimeFormat("zh-CN", { timeZone: GG.zone, timeZoneName: "shortOffset" })
        .formatToParts(when ? new Date(when) : new Date());
      var name = parts.filter(function (p) { return p.type === "timeZoneName"; })[0].value;
      return name.replace(/^GMT/, "UTC");
    } catch (e) {
      return GG.zone;
    }
  };

  /** What the zone is called: 北京时间 for Asia/Shanghai, else its IANA name. */
  GG.zoneName = function () {
    return GG.zone === "Asia/Shanghai" ? GG.t("time.beijing") : GG.zone;
  };

  /** The page footer's note saying which clock the page's times are in. */
  GG.zoneNote = function () {
    return GG.t("time.note").replace("{zone}", GG.zoneName()).replace("{offset}", GG.zoneOffset());
  };

  /** THE time formatter of the console: an ISO instant in the county's zone, e.g. "2026-12-06 17:30".
   * options.style: "full" (default), "short" (12-06 17:30), "date" (2026-12-06), "time" (17:30);
   * options.zone: append the offset, "2026-12-06 17:30 (UTC+8)", where a time could be misread. */
  GG.fmtTime = function (iso, options) {
    if (!iso) return "";
    options = options || {};
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    var p = {};
    formatter(options.style || "full").formatToParts(d).forEach(function (part) { p[part.type] = part.value; });
    var text = [[p.year, p.month, p.day].filter(Boolean).join("-"), p.hour ? p.hour + ":" + p.minute : ""]
      .filter(Boolean).join(" ");
    return options.zone ? text + " (" + GG.zoneOffset(d) + ")" : text;
  };

  /** A case's deadline as every page shows it (county time with its offset), "" when it has none. */
  GG.fmtDeadline = function (ev) {
    return ev && ev.deadline_at ? GG.fmtTime(ev.deadline_at, { zone: true }) : "";
  };

  /** 时限待定 when the server says the deadline was computed without its year's holiday calendar; the field
   * (deadline_provisional) may be absent, which means nothing is known to be provisional. */
  GG.deadlineNote = function (ev) {
    return ev && ev.deadline_at && ev.deadline_provisional === true ? GG.t("msg.deadline_provisional") : "";
  };
  GG.fmtDistance = function (m) {
    return m >= 1000 ? (m / 1000).toFixed(1) + GG.t("unit.km") : Math.round(m) + GG.t("unit.m");
  };
  GG.fmtNumber = function (n) {
    return n === null || n === undefined ? "—" : Number(n).toLocaleString(GG.lang === "en" ? "en" : "zh-CN");
  };
  GG.esc = function (s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  };

  /* ---------- map ---------- */
  GG.KIND_COLORS = { dispute: "#d7301f", hazard: "#ec7014", appeal: "#2171b5" };
  GG.RISK_COLORS = (VOCAB.colors || {}).grade || {};  // the grade colours every map and list draws
  var LAYER_STYLES = {
    townships: { color: "#54278f", weight: 2, fill: true, fillOpacity: 0.04 },
    villages: { color: "#807dba", weight: 1, fill: true, fillOpacity: 0.02 },
    grids: { color: "#9e9ac8", weight: 0.6, fill: true, fillOpacity: 0.02 },
    facilities: { color: "#252525", weight: 1, radius: 5, fillColor: "#fff", fillOpacity: 1 },
    workers: { color: "#006d2c", weight: 1, radius: 4, fillColor: "#41ab5d", fillOpacity: 0.9 },
    tracks: { color: "#6a3d9a", weight: 3 },
  };

  /** A Leaflet map with no basemap: the grids are the map (and nothing is fetched from outside). */
  GG.makeMap = function (el, options) {
    options = Object.assign({ zoomPosition: "topleft" }, options);
    var map = L.map(el, { zoomControl: false, attributionControl: false, zoomSnap: 0.25 });
    L.control.zoom({ position: options.zoomPosition }).addTo(map);
    map.setView([36.73, 103.26], 9);  // Yongdeng County (WGS84), refined by fitBounds once grids load
    return map;
  };

  /** Every feature of an OGC API collection in the user's area, following `next` links. */
  GG.loadFeatures = function (layer, query) {
    var url = "/ogc/collections/" + layer + "/items?limit=10000" + (query ? "&" + query : "");
    var features = [];
    function page(u) {
      return GG.api(u).then(function (fc) {
        features = features.concat(fc.features || []);
        var next = (fc.links || []).filter(function (l) { return l.rel === "next"; })[0];
        return next ? page(next.href) : features;
      });
    }
    return page(url);
  };

  /** A GeoJSON layer styled by layer id; each path gets the class gg-<layer> (tests count them). */
  GG.geoLayer = function (layer, features, extra) {
    var base = LAYER_STYLES[layer] || { color: "#555", weight: 1 };
    var style = function (f) {
      var s = Object.assign({}, base, { className: "gg-" + layer });
      if (layer === "risk") {
        var c = GG.RISK_COLORS[f.properties.grade] || "#999";
        s = { className: "gg-risk gg-risk-" + f.properties.grade, color: c, weight: 0.5, fillColor: c, fillOpacity: 0.55 };
      }
      return s;
    };
    return L.geoJSON({ type: "FeatureCollection", features: features }, Object.assign({
      style: style,
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, Object.assign({ pane: (extra && extra.pane) || "overlayPane" }, style(f)));
      },
    }, extra || {}));
  };

  /* ---------- case categories (labels in both languages, from /api/categories) ---------- */
  GG.categories = {};
  GG.loadCategories = function () {
    return GG.api("/api/categories").then(function (rows) {
      rows.forEach(function (c) { GG.categories[c.code] = c; });
      return rows;
    });
  };
  GG.catLabel = function (code) {
    var c = GG.categories[code];
    return c ? (GG.lang === "en" ? c.label_en : c.label_zh) : code;
  };

  /* ---------- live feed ---------- */
  /** Subscribe to /api/live (server-sent events of the user's area); onState(true) once the server listens. */
  GG.live = function (onMessage, onState) {
    var es = new EventSource("/api/live");
    es.addEventListener("ready", function () { if (onState) onState(true); });
    es.addEventListener("live", function (e) { onMessage(JSON.parse(e.data)); });
    es.onerror = function () { if (onState) onState(false); };  // EventSource reconnects by itself
    window.addEventListener("pagehide", function () { es.close(); });
    return es;
  };

  /* ---------- shell wiring ---------- */
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#gg-area, .gg-code").forEach(function (el) { el.textContent = GG.fmtCode(el.textContent); });
    document.querySelectorAll("[data-lang]").forEach(function (b) {
      b.addEventListener("click", function () { GG.setLang(b.getAttribute("data-lang")); });
    });
    var out = document.getElementById("gg-logout");
    if (out) out.addEventListener("click", function () {
      GG.api("/api/auth/logout", { method: "POST" }).catch(function () {}).then(function () { location.href = "/login"; });
    });
    GG.applyI18n();
  });
})();
