/* Commander's big screen: the area's map with township names, headline figures, drill-down, the live
 * feed, who is on duty, and a legend of every colour drawn. A drill-down narrows every panel to the
 * area picked: figures, open cases, workers on the map and on duty, and the feed. Each feed entry
 * says what happened and the case's status now (a later message about the case updates it).
 */
(function () {
  "use strict";
  var userArea = document.body.getAttribute("data-area");
  var state = { prefix: userArea, names: {}, bounds: {}, layers: {}, feed: [], statusOf: {}, summary: null };
  var map = GG.makeMap("map", { zoomPosition: "bottomleft", scalePosition: "bottomleft" });  // top-left is under the figures
  // Areas under points: polygons in their own panes so markers stay clickable on top.
  map.createPane("risk").style.zIndex = 390;
  map.createPane("points").style.zIndex = 450;
  var FEED_MAX = 60;
  var DUTY_SHOWN = 200;  // the list is a glance, the map shows everyone
  var LEVEL_BELOW = { 9: "villages", 12: "grids" };
  var FIT = { paddingTopLeft: [430, 20], paddingBottomRight: [400, 20] };  // keep areas clear of the side panels
  var OVERDUE_RING = "#67000d";
  var WORKER = { free: "#41ab5d", busy: "#a1d99b", ring: "#006d2c" };
  var OUTLINES = { townships: "#54278f", villages: "#807dba", grids: "#9e9ac8" };
  var AREA_LAYERS = { events: true, workers: true };  // layers that follow the drill-down

  function inArea(code) { return String(code || "").indexOf(state.prefix) === 0; }
  function areaQuery() { return "?area=" + encodeURIComponent(state.prefix); }

  /* ---------- layers ---------- */
  function polygons(layer, features) {
    return GG.geoLayer(layer, features, {
      onEachFeature: function (f, lyr) {
        var p = GG.codePrefix(f.properties.code);
        state.names[p] = f.properties.name;
        state.bounds[p] = lyr.getBounds();
        if (layer === "townships") {  // the township's name on the map, always
          lyr.bindTooltip(GG.esc(f.properties.name), { permanent: true, direction: "center", className: "gg-label" });
        } else {
          lyr.bindTooltip(GG.esc(f.properties.name) + "<br><code>" + GG.esc(f.properties.code) + "</code>", { sticky: true });
        }
        lyr.on("click", function () { drill(p); });
      },
    });
  }

  function riskLayer(features) {
    return GG.geoLayer("risk", features, {
      pane: "risk",
      onEachFeature: function (f, lyr) {
        lyr.bindTooltip(GG.esc(f.properties.name) + " · " + GG.esc(GG.label("grade", f.properties.grade)), { sticky: true });
      },
    });
  }

  function eventMarker(e) {
    var m = L.circleMarker([e.lat, e.lon], {
      pane: "points", radius: 3 + (e.severity || 1), color: e.overdue ? OVERDUE_RING : "#fff", weight: e.overdue ? 2 : 1,
      fillColor: GG.KIND_COLORS[e.kind] || "#555", fillOpacity: 0.9, className: "gg-event gg-event-" + e.kind,
    });
    m.bindTooltip(GG.esc(GG.catLabel(e.category)) + " · " + GG.esc(GG.label("status", e.status)) + "<br><code>" +
      GG.fmtCode(e.grid_code) + "</code>");
    return m;
  }

  function workerMarker(w) {
    return L.circleMarker([w.lat, w.lon], {
      pane: "points", radius: 3, color: WORKER.ring, weight: 1, fillColor: w.available && w.open_tasks < w.capacity ? WORKER.free : WORKER.busy,
      fillOpacity: 0.9, className: "gg-worker",
    }).bindTooltip(GG.esc(w.name) + " · " + GG.t("unit.load") + " " + w.open_tasks + "/" + w.capacity);
  }

  /* ---------- field work: today's patrol tracks, visits and coverage (layers of the summary's day) ---------- */
  var UNVISITED_SHOWN = 30;
  function today() { return summaryLoaded.then(function () { return "datetime=" + state.summary.day; }); }

  function tracksLayer(features) {
    return GG.geoLayer("tracks", features, {
      style: { className: "gg-tracks", color: "#6a3d9a", weight: 3, opacity: 0.85 },
      onEachFeature: function (f, lyr) {
        var p = f.properties;
        lyr.bindTooltip(GG.esc(p.worker) + " · " + GG.fmtDistance(p.length_m) + " · " + Math.round(p.duration_s / 60) + " 分钟", { sticky: true });
      },
    });
  }

  function visitsLayer(features) {
    return GG.geoLayer("visits", features, {
      pane: "points",
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, { pane: "points", radius: 4, color: "#fff", weight: 1, fillColor: "#1f78b4", fillOpacity: 0.9, className: "gg-visits" });
      },
      onEachFeature: function (f, lyr) {
        lyr.bindTooltip(GG.esc(f.properties.address || "") + " · " + GG.esc(f.properties.worker) + " · " + GG.fmtTime(f.properties.at, { style: "time" }));
      },
    });
  }

  function coverageLayer(features) {
    var colors = (GG.vocab.colors || {}).coverage || {};
    return GG.geoLayer("coverage", features, {
      pane: "risk",
      style: function (f) {
        var c = colors[f.properties.status] || "#999";
        return { className: "gg-coverage gg-coverage-" + f.properties.status, color: c, weight: 0.5, fillColor: c, fillOpacity: 0.5 };
      },
      onEachFeature: function (f, lyr) {
        lyr.bindTooltip(GG.esc(f.properties.name) + " · " + GG.esc(GG.label("coverage", f.properties.status)) +
          " · 走访 " + f.properties.visits + " · 巡查 " + f.properties.patrols, { sticky: true });
      },
    });
  }

  /** 本周未走访网格: the grids of the area without a visit this week, never patrolled first. */
  function loadUnvisited() {
    return GG.api("/api/coverage?period=week&limit=" + UNVISITED_SHOWN + "&area=" + state.prefix).then(function (c) {
      document.getElementById("unvisited-count").textContent = GG.fmtNumber(c.grids - c.visited);
      document.getElementById("unvisited").innerHTML = c.unvisited.map(function (g) {
        return '<li data-grid="' + GG.esc(g.code) + '">' + GG.esc(g.name) + ' <span class="gg-muted"><code>' + GG.fmtCode(g.code) +
          "</code>" + (g.patrols ? " · 有巡查" : " · 无巡查") + "</span></li>";
      }).join("") || '<li class="gg-muted">' + GG.t("msg.empty") + "</li>";
    }).catch(GG.fail);
  }

  var LOADERS = {
    tracks: function () { return today().then(function (q) { return GG.loadFeatures("tracks", q); }).then(tracksLayer); },
    visits: function () { return today().then(function (q) { return GG.loadFeatures("visits", q); }).then(visitsLayer); },
    coverage: function () { return today().then(function (q) { return GG.loadFeatures("coverage", q); }).then(coverageLayer); },
    townships: function () { return GG.loadFeatures("townships").then(function (fs) { return polygons("townships", fs); }); },
    villages: function () { return GG.loadFeatures("villages").then(function (fs) { return polygons("villages", fs); }); },
    grids: function () { return GG.loadFeatures("grids").then(function (fs) { return polygons("grids", fs); }); },
    risk: function () { return GG.loadFeatures("risk").then(riskLayer); },
    facilities: function () {
      return GG.loadFeatures("facilities").then(function (fs) {
        return GG.geoLayer("facilities", fs, {
          pane: "points",
          onEachFeature: function (f, lyr) { lyr.bindTooltip(GG.esc(f.properties.name) + "（" + GG.esc(f.properties.kind_label) + "）"); },
        });
      });
    },
    events: function () {
      return GG.api("api/summary/open-events" + areaQuery()).then(function (rows) {
        state.openEvents = rows;  // what the map shows (tests and the browser console read it)
        rows.forEach(function (e) { state.statusOf[e.id] = e.status; });
        return L.layerGroup(rows.filter(function (e) { return e.lat !== null; }).map(eventMarker));
      });
    },
    workers: function () {
      return loadDuty().then(function (rows) { return L.layerGroup(rows.filter(function (w) { return w.lat !== null; }).map(workerMarker)); });
    },
  };

  /** Show or hide a layer, loading it the first time it is shown (or again after a drill-down). */
  function toggle(name, on) {
    var box = document.querySelector('[data-layer="' + name + '"]');
    if (box) box.checked = on;
    if (!on) {
      if (state.layers[name]) map.removeLayer(state.layers[name]);
      return Promise.resolve();
    }
    var ready = state.layers[name] ? Promise.resolve(state.layers[name]) : LOADERS[name]().then(function (l) {
      state.layers[name] = l;
      return l;
    });
    return ready.then(function (l) {
      if (document.querySelector('[data-layer="' + name + '"]').checked) l.addTo(map);
    }).catch(GG.fail);
  }

  /** Reload the layers that follow the area (its open cases, its workers). */
  function reloadAreaLayers() {
    Object.keys(AREA_LAYERS).forEach(function (name) {
      if (state.layers[name]) map.removeLayer(state.layers[name]);
      delete state.layers[name];
      var box = document.querySelector('[data-layer="' + name + '"]');
      if (box && box.checked) toggle(name, true);
    });
  }

  /* ---------- the legend: every colour the map draws ---------- */
  function legendItem(cls, color, text) {
    return "<span><i class=\"" + cls + "\" data-color=\"" + color + "\"></i>" + GG.esc(text) + "</span>";
  }

  function renderLegend() {
    var rows = Object.keys(GG.KIND_COLORS).map(function (k) { return legendItem("gg-dot", GG.KIND_COLORS[k], GG.label("kind", k)); });
    rows.push('<span><i class="gg-ring" data-ring="' + OVERDUE_RING + '"></i>' + GG.esc(GG.t("legend.overdue")) + "</span>");
    rows.push(legendItem("gg-dot", WORKER.free, GG.t("legend.worker_free")), legendItem("gg-dot", WORKER.busy, GG.t("legend.worker_busy")));
    rows.push('<span><i class="gg-ring" data-ring="#252525"></i>' + GG.esc(GG.t("layer.facilities")) + "</span>");
    Object.keys(OUTLINES).forEach(function (k) {
      rows.push('<span><i class="gg-line" data-border="' + OUTLINES[k] + '"></i>' + GG.esc(GG.t("layer." + k)) + "</span>");
    });
    if (document.querySelector("[data-layer=risk]").checked) {
      Object.keys(GG.RISK_COLORS).forEach(function (g) { rows.push(legendItem("gg-dot", GG.RISK_COLORS[g], GG.label("grade", g))); });
    }
    var box = document.getElementById("legend");
    box.innerHTML = '<b data-i18n="panel.legend">' + GG.esc(GG.t("panel.legend")) + '</b> <span class="gg-legend-rows">' + rows.join("") + "</span>";
    GG.paint(box);
    box.querySelectorAll("[data-border]").forEach(function (el) { el.style.borderTopColor = el.getAttribute("data-border"); });
  }

  /* ---------- figures and drill-down ---------- */
  function fmtFig(key, v) {
    if (v === null || v === undefined) return "—";
    if (key === "resolution_rate" || key === "visit_coverage") return (v * 100).toFixed(1) + "%";  // a share (0..1)
    if (key === "wage_recovered") return GG.lang === "en" ? Math.round(v / 1000) + "k" : (v / 10000).toFixed(1) + "万";
    return GG.fmtNumber(v);
  }

  function renderFigures() {
    var s = state.summary;
    if (!s) return;
    document.querySelectorAll("[data-fig]").forEach(function (el) {
      var key = el.getAttribute("data-fig");
      el.textContent = fmtFig(key, s[key]);
    });
    document.getElementById("fig-day").textContent = s.day;
    document.getElementById("place-name").textContent = s.place.name;
    document.getElementById("place-code").textContent = GG.fmtCode(state.prefix);
    document.getElementById("duty-count").textContent = GG.fmtNumber(s.on_duty);
  }

  function renderCrumbs() {
    var box = document.getElementById("crumbs");
    box.innerHTML = "";
    [6, 9, 12, 15].filter(function (n) { return n >= userArea.length && n <= state.prefix.length; }).forEach(function (n, i) {
      var p = state.prefix.slice(0, n);
      if (i) box.appendChild(document.createTextNode(" › "));
      var a = document.createElement(p === state.prefix ? "b" : "a");
      a.textContent = state.names[p] || (n === 6 ? GG.t("crumb.county") : GG.fmtCode(p));
      a.setAttribute("data-crumb", p);
      if (p !== state.prefix) a.addEventListener("click", function () { drill(p); });
      box.appendChild(a);
    });
  }

  var summaryReady;
  var summaryLoaded = new Promise(function (resolve) { summaryReady = resolve; });

  /** Zoom to an area (code prefix) and narrow every panel to it; the server refuses areas outside the user's. */
  function drill(prefix) {
    return GG.api("api/summary?area=" + prefix).then(function (s) {
      var moved = prefix !== state.prefix;
      state.prefix = prefix;
      state.summary = s;
      summaryReady(s);
      loadUnvisited();
      state.names[prefix] = s.place.name;
      renderFigures();
      renderCrumbs();
      renderFeed();
      if (moved) { reloadAreaLayers(); loadDuty().then(renderDuty).catch(GG.fail); seedFeed().catch(GG.fail); }
      if (state.bounds[prefix]) map.fitBounds(state.bounds[prefix], FIT);
      if (LEVEL_BELOW[prefix.length]) toggle(LEVEL_BELOW[prefix.length], true);
    }).catch(GG.fail);
  }

  var refreshTimer = null;
  function refreshSoon() {  // many messages in a burst cost one summary query
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () { drill(state.prefix); }, 1500);
  }

  /* ---------- live feed (server-sent events) ---------- */
  /** What a feed message says happened (migration 0007 sends 'reported', 'status' or the log's action):
   * a report is the timeline's 上报; a bare change of status says the status it reached. */
  function feedAction(m) {
    if (m.action === "status") return GG.label("status", m.status);
    return GG.label("action", m.action === "reported" ? "report" : m.action);
  }

  function renderFeed() {
    var ul = document.getElementById("feed");
    var shown = state.feed.filter(function (m) { return inArea(m.grid_code); });
    ul.innerHTML = shown.length ? "" : '<li class="gg-muted">' + GG.t("msg.empty") + "</li>";
    shown.forEach(function (m) {
      var li = document.createElement("li");
      var now = state.statusOf[m.id] || m.status;
      li.setAttribute("data-id", m.id);
      li.setAttribute("data-action", m.action);
      li.setAttribute("data-status", now);
      if (m.fresh) li.className = "fresh";
      li.innerHTML = '<span class="gg-dot" data-color="' + (GG.KIND_COLORS[m.kind] || "#555") + '"></span>' +
        "<b>" + GG.esc(feedAction(m)) + "</b> " + GG.esc(GG.catLabel(m.category)) +
        ' <span class="gg-badge gg-now">' + GG.esc(GG.label("status", now)) + "</span><br>" +
        '<span class="gg-muted"><code>' + GG.fmtCode(m.grid_code) + "</code> · " + GG.fmtTime(m.at, { style: "short" }) +
        " · #" + m.id + "</span>";
      ul.appendChild(li);
      m.fresh = false;
    });
    GG.paint(ul);
  }

  /** Seed the feed with the area's newest open cases so it is not empty before the first push (the
   * messages pushed so far stay on top). */
  function seedFeed() {
    return GG.api("api/summary/open-events" + areaQuery() + "&limit=12").then(function (rows) {
      var pushed = state.feed.filter(function (m) { return m.live; });
      state.feed = pushed.concat(rows.map(function (e) {
        state.statusOf[e.id] = e.status;
        return { id: e.id, kind: e.kind, category: e.category, status: e.status, grid_code: e.grid_code, action: "reported", at: e.reported_at };
      }));
      renderFeed();
    });
  }

  function onLive(m) {
    m.fresh = true;
    m.live = true;
    state.statusOf[m.id] = m.status;  // every entry of this case now shows this status
    state.feed.unshift(m);
    state.feed.length = Math.min(state.feed.length, FEED_MAX);
    renderFeed();
    if (m.action === "reported" && state.layers.events && m.lat !== null && inArea(m.grid_code)) {
      state.layers.events.addLayer(eventMarker(Object.assign({ severity: 2 }, m)));
    }
    refreshSoon();
  }

  function setLive(on) {
    var el = document.getElementById("live-state");
    el.setAttribute("data-i18n", on ? "live.connected" : "live.waiting");
    el.textContent = GG.t(on ? "live.connected" : "live.waiting");
    el.classList.toggle("on", on);
  }

  /* ---------- on duty (of the area drilled into) ---------- */
  var duty = null;
  function loadDuty() {
    if (!duty || duty.prefix !== state.prefix) duty = { prefix: state.prefix, rows: GG.api("api/summary/on-duty" + areaQuery()) };
    return duty.rows;
  }

  function renderDuty(rows) {
    var ul = document.getElementById("duty");
    ul.innerHTML = rows.slice(0, DUTY_SHOWN).map(function (w) {
      return '<li data-worker="' + w.id + '" data-grid="' + GG.esc(w.grid_code) + '">' + GG.esc(w.name) + ' <span class="gg-muted"><code>' +
        GG.fmtCode(w.grid_code) + "</code> · " + GG.t("unit.load") + " " + w.open_tasks + "/" + w.capacity + "</span></li>";
    }).join("") || '<li class="gg-muted">' + GG.t("msg.empty") + "</li>";
  }

  /* ---------- start ---------- */
  document.querySelectorAll("[data-layer]").forEach(function (box) {
    box.addEventListener("change", function () { toggle(box.getAttribute("data-layer"), box.checked); renderLegend(); });
  });
  document.addEventListener("gg:lang", function () { renderFigures(); renderCrumbs(); renderFeed(); renderLegend(); });

  renderLegend();
  GG.loadCategories().catch(GG.fail).then(seedFeed).catch(GG.fail);
  loadDuty().then(renderDuty).catch(GG.fail);
  toggle("townships", true).then(function () {
    var all = L.featureGroup(Object.keys(state.bounds).map(function (k) { return L.rectangle(state.bounds[k]); }));
    if (all.getLayers().length) map.fitBounds(all.getBounds(), FIT);
    return drill(userArea);
  });
  ["facilities", "workers", "events", "tracks", "visits"].forEach(function (n) { toggle(n, true); });
  // Field work moves all day: today's tracks, visits and coverage are read again every few minutes.
  var FIELD_EVERY_MS = 180000;
  function refreshField() {
    ["tracks", "visits", "coverage"].forEach(function (n) {
      if (!state.layers[n]) return;
      map.removeLayer(state.layers[n]);
      delete state.layers[n];
      if (document.querySelector('[data-layer="' + n + '"]').checked) toggle(n, true);
    });
    loadUnvisited();
  }
  setInterval(refreshField, FIELD_EVERY_MS);
  GG.live(onLive, setLive);
  window.GGCommander = { state: state, map: map, drill: drill, refreshField: refreshField };  // for tests and the browser console
})();
