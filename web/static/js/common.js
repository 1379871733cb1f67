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

  /* ---------- the app's base path (GRID_API_ROOT_PATH behind a reverse proxy) ---------- */
  /** The prefix the app is served under, from the page (base.html <body data-base>): "" or "/gridgov". */
  GG.base = (document.body && document.body.getAttribute("data-base")) || "";
  /** The URL of an app path: "api/board" or "/api/board" -> GG.base + "/api/board"; absolute URLs (the
   * OGC `next` links, http://...) stay as they are. Every request and link of the console goes through it. */
  GG.url = function (path) {
    path = String(path);
    if (/^[a-z]+:/i.test(path)) return path;
    return GG.base + (path.charAt(0) === "/" ? path : "/" + path);
  };

  /* ---------- text: zh is the default, en on request (kept in localStorage); messages.js is the table ---------- */
  var DICT = window.GG_MESSAGES || { zh: {}, en: {} };
  var LANG_KEY = "gridgov_lang";
  GG.lang = localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh";
  GG.dict = DICT;

  /** The text of a key in the current language (Chinese, then the key itself, as fallbacks); `values`
   * fill its {name} marks: GG.t("pager.text", {page: 1, pages: 3, total: 50}). A string as the second
   * argument is the fallback text. */
  GG.t = function (key, values) {
    var fallback = typeof values === "string" ? values : undefined;
    var text = DICT[GG.lang][key] || DICT.zh[key] || fallback || key;
    if (values && typeof values === "object") {
      text = text.replace(/\{(\w+)\}/g, function (m, name) {
        return values[name] === undefined || values[name] === null ? "" : String(values[name]);
      });
    }
    return text;
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
    (root || document).querySelectorAll("[data-i18n-placeholder]").forEach(function (el) {
      el.placeholder = GG.t(el.getAttribute("data-i18n-placeholder"), el.placeholder);
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

  /** A readable message from a problem+json body: its detail (Chinese, naming the field by its label),
   * else the status's own message. */
  GG.problemMessage = function (status, body) {
    var text = body && (body.detail || body.title);
    if (!text) text = DICT[GG.lang]["http." + status] || DICT.zh["http." + status] || GG.t("http.other", { status: status });
    // the field, by its Chinese name, when the message does not already name it
    var field = body && body.where ? GG.label("field", body.where) : "";
    if (field && field !== body.where && text.indexOf(field) < 0 && text.indexOf(body.where) < 0) text += "（" + field + "）";
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
    return fetch(GG.url(url), init).then(function (resp) {
      var type = resp.headers.get("content-type") || "";
      var parsed = type.indexOf("json") >= 0 ? resp.json() : resp.text();
      return parsed.then(function (body) {
        if (resp.ok) return body;
        if (resp.status === 401) GG.toLogin();
        if (resp.status === 403 && body && body.code === "password_change_required") location.href = GG.url("password");
        var err = new Error(GG.problemMessage(resp.status, typeof body === "object" ? body : null));
        err.status = resp.status;
        throw err;
      });
    });
  };

  /** To the login page, which brings the browser back to this page afterwards. */
  GG.toLogin = function () {
    location.href = GG.url("login") + "?next=" + encodeURIComponent(location.pathname + location.search);
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
  GG.fail = function (err) {
    GG.toast(err && err.status === undefined && err instanceof TypeError ? GG.t("http.network") : (err.message || String(err)), true);
  };

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
    if (typeof iso === "string") iso = iso.replace(/^(\d{4}-\d\d-\d\d) (\d)/, "$1T$2");  // "2026-12-05 17:00:00+08:00"
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
  /** How long, in words: 45 分钟, 3 小时, 2 天 (3 hours ...). */
  GG.fmtDuration = function (seconds) {
    var en = GG.lang === "en", s = Math.max(0, Number(seconds) || 0);
    if (s < 3600) return Math.max(1, Math.round(s / 60)) + (en ? " min" : " 分钟");
    if (s < 172800) return Math.round(s / 3600) + (en ? " h" : " 小时");
    return Math.round(s / 86400) + (en ? " days" : " 天");
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

  /** Give every [data-color] element under root its colour (markup never carries a style attribute, so
   * a strict Content-Security-Policy holds): a background, or the border of [data-color-ring]. */
  GG.paint = function (root) {
    (root || document).querySelectorAll("[data-color]").forEach(function (el) {
      el.style.background = el.getAttribute("data-color");
    });
    (root || document).querySelectorAll("[data-ring]").forEach(function (el) {
      el.style.border = "2px solid " + el.getAttribute("data-ring");
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
    L.control.scale({ imperial: false, position: options.scalePosition || "bottomright" }).addTo(map);  // metres only
    map.setView([36.73, 103.26], 9);  // Yongdeng County (WGS84), refined by fitBounds once grids load
    return map;
  };

  /** Every feature of an OGC API collection in the user's area, following `next` links. */
  GG.loadFeatures = function (layer, query) {
    var url = GG.url("ogc/collections/" + layer + "/items") + "?limit=10000" + (query ? "&" + query : "");
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

  /** The area's outlines under a desk's map: its villages for context when zoomed on a case (unless
   * `villages: false`), its townships labelled with their names (`townships`: more options of their layer),
   * and an option per township in the <select> of id `select`. Resolves with the townships' layer. */
  GG.outlines = function (map, options) {
    options = options || {};
    if (options.villages !== false) {
      GG.loadFeatures("villages").then(function (fs) {
        GG.geoLayer("villages", fs, { interactive: false }).addTo(map);
      }).catch(GG.fail);
    }
    return GG.loadFeatures("townships").then(function (fs) {
      var layer = GG.geoLayer("townships", fs, Object.assign({
        onEachFeature: function (f, l) { l.bindTooltip(GG.esc(f.properties.name), { permanent: true, direction: "center", className: "gg-label" }); },
      }, options.townships || {})).addTo(map);
      if (options.select) {
        document.getElementById(options.select).insertAdjacentHTML("beforeend", fs.map(function (f) {
          return '<option value="' + GG.esc(GG.codePrefix(f.properties.code)) + '">' + GG.esc(f.properties.name) + "</option>";
        }).join(""));
      }
      return layer;
    });
  };

  /* ---------- case categories (labels in both languages, from /api/categories) ---------- */
  GG.categories = {};
  GG.loadCategories = function () {
    return GG.api("api/categories").then(function (rows) {
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
    var es = new EventSource(GG.url("api/live"));
    es.addEventListener("ready", function () { if (onState) onState(true); });
    es.addEventListener("live", function (e) { onMessage(JSON.parse(e.data)); });
    es.onerror = function () { if (onState) onState(false); };  // EventSource reconnects by itself
    window.addEventListener("pagehide", function () { es.close(); });
    return es;
  };

  /* ---------- shell wiring ---------- */
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#gg-area, .gg-code").forEach(function (el) { el.textContent = GG.fmtCode(el.textContent); });
    GG.paint();
    document.querySelectorAll("[data-lang]").forEach(function (b) {
      b.addEventListener("click", function () { GG.setLang(b.getAttribute("data-lang")); });
    });
    var out = document.getElementById("gg-logout");
    if (out) out.addEventListener("click", function () {
      GG.api("api/auth/logout", { method: "POST" }).catch(function () {}).then(function () { location.href = GG.url("login"); });
    });
    GG.applyI18n();
  });
})();
