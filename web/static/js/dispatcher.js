/* Dispatcher's desk: pick a case from the unassigned queue, see its candidates on the map, assign in one
 * click, and escalate / refer / whistle. Every error is the server's problem+json message. Labels come
 * from the vocabulary (GG.label), times from GG.fmtTime, and 超期 from the server (`overdue`), never
 * from this browser's clock. */
(function () {
  "use strict";
  var state = { board: null, selected: null, caseLayer: null };
  var map = GG.makeMap("map");
  map.createPane("points").style.zIndex = 450;
  var $ = function (id) { return document.getElementById(id); };

  function isOverdue(item) {
    return item.overdue === true;  // the server's clock decides (geo.queries.figures.overdue_at)
  }

  /* ---------- queue ---------- */
  function renderQueue() {
    var queue = state.board ? state.board.queue : [];
    $("queue-count").textContent = queue.length;
    $("queue").innerHTML = queue.map(function (q) {
      var late = isOverdue(q);
      return '<li data-id="' + q.id + '" class="' + (late ? "overdue " : "") + (q.id === state.selected ? "sel" : "") + '">' +
        '<span class="gg-dot" style="background:' + (GG.KIND_COLORS[q.kind] || "#555") + '"></span>' +
        "<b>" + GG.esc(GG.catLabel(q.category)) + "</b> · " + GG.esc(GG.label("severity", q.severity)) +
        (late ? ' <span class="gg-overdue">' + GG.t("msg.overdue") + "</span>" : "") + "<br>" +
        '<span class="gg-muted">' + GG.esc(q.title) + "</span><br>" +
        '<span class="gg-muted"><code>' + GG.fmtCode(q.grid_code) + "</code> · " +
        GG.fmtTime(q.reported_at, { style: "short" }) + " · " + GG.esc(GG.label("status", q.status)) + " · #" + q.id +
        "</span></li>";
    }).join("") || '<li class="gg-muted">' + GG.t("msg.empty") + "</li>";
  }

  function loadBoard() {
    return GG.api("/api/board?limit=200").then(function (board) {
      state.board = board;
      renderQueue();
    });
  }

  /* ---------- the selected case ---------- */
  function renderCase(ev) {
    $("case-title").removeAttribute("data-i18n");
    $("case-title").textContent = "#" + ev.id + " " + (ev.title || GG.catLabel(ev.category));
    var note = GG.deadlineNote(ev);
    $("case-meta").innerHTML = GG.esc(GG.label("kind", ev.kind)) + " · " + GG.esc(GG.catLabel(ev.category)) + " · " +
      '<span class="gg-status">' + GG.esc(GG.label("status", ev.status)) + "</span><br>" +
      GG.t("label.grid") + " <code>" + GG.fmtCode(ev.grid_code) + "</code> · " +
      GG.t("label.severity") + " " + GG.esc(GG.label("severity", ev.severity)) + " · " +
      GG.t("label.level") + " " + GG.esc(GG.label("level", ev.escalation_level)) + "<br>" +
      GG.t("label.reported_at") + " " + GG.fmtTime(ev.reported_at, { zone: true }) +
      (ev.deadline_at ? "<br>" + GG.t("label.deadline") + ' <span class="gg-deadline' + (isOverdue(ev) ? " gg-overdue" : "") +
        '">' + GG.esc(GG.fmtDeadline(ev)) + "</span>" +
        (isOverdue(ev) ? ' <span class="gg-overdue">' + GG.t("msg.overdue") + "</span>" : "") +
        (note ? ' <span class="gg-provisional">' + GG.esc(note) + "</span>" : "") : "") +
      (ev.description ? '<br><span class="gg-muted">' + GG.esc(ev.description) + "</span>" : "");
    $("case-body").hidden = false;
  }

  function renderCandidates(cands, workers) {
    var assignable = ["reported", "registered"].indexOf(state.event.status) >= 0;
    $("cands").innerHTML = cands.map(function (c) {
      return '<li data-worker="' + c.worker_id + '"><span class="grow"><b>' + GG.esc(c.name) + "</b> <code>" +
        GG.fmtCode(c.grid_code) + '</code><br><span class="gg-muted">' + GG.fmtDistance(c.distance_m) + " · " +
        GG.t("unit.load") + " " + c.open_tasks + "/" + c.capacity + " · " + GG.esc(c.reasons.join("，")) + "</span></span>" +
        '<button type="button" class="primary" data-assign="' + c.worker_id + '"' + (assignable ? "" : " disabled") + ">" +
        GG.t("btn.assign") + "</button></li>";
    }).join("") || '<li class="gg-muted gg-empty-reason">' + GG.esc(state.emptyReason || GG.t("msg.empty")) + "</li>";
    drawCandidates(cands, workers);
  }

  /** The case (a larger dark marker), each candidate's position, and a line case → worker. */
  function drawCandidates(cands, workers) {
    if (state.caseLayer) map.removeLayer(state.caseLayer);
    var ev = state.event;
    var here = [ev.lat, ev.lon];
    var group = L.featureGroup();
    cands.forEach(function (c) {
      var w = workers[c.worker_id];
      if (!w || w.lat === null) return;
      L.polyline([here, [w.lat, w.lon]], { pane: "points", color: "#6a51a3", weight: 2, dashArray: "4 4", className: "gg-cand-line" }).addTo(group);
      L.circleMarker([w.lat, w.lon], { pane: "points", radius: 7, color: "#fff", weight: 2, fillColor: "#238b45", fillOpacity: 1, className: "gg-candidate" })
        .bindTooltip(GG.esc(c.name) + " · " + GG.fmtDistance(c.distance_m), { permanent: true, direction: "right" }).addTo(group);
    });
    L.circleMarker(here, { pane: "points", radius: 10, color: "#fff", weight: 3, fillColor: GG.KIND_COLORS[ev.kind] || "#d7301f", fillOpacity: 1, className: "gg-case" }).addTo(group);
    state.caseLayer = group.addTo(map);
    map.fitBounds(group.getBounds(), { padding: [60, 60], maxZoom: 15 });
  }

  /** "from → to" (status labels) for a change of status, "to" for the first entry, "" when it stayed. */
  function statusChange(e) {
    if (!e.to_status || e.to_status === e.from_status) return "";
    var to = GG.esc(GG.label("status", e.to_status));
    return e.from_status ? GG.esc(GG.label("status", e.from_status)) + " → " + to : to;
  }

  function renderTimeline(entries) {
    $("timeline").innerHTML = entries.slice().reverse().map(function (e) {
      return '<li data-action="' + GG.esc(e.action) + '"><b class="gg-action">' + GG.esc(GG.label("action", e.action)) +
        "</b> " + statusChange(e) + '<br><span class="gg-muted">' +
        GG.fmtTime(e.at, { style: "short" }) + " · " + GG.esc(e.actor) + (e.note ? " · " + GG.esc(e.note) : "") + "</span></li>";
    }).join("");
  }

  function loadTimeline(id) {
    return GG.api("/api/events/" + id + "/timeline").then(renderTimeline);
  }

  /** Candidates come without positions: fetch each worker's (WGS84) position for the map. */
  function loadWorkers(cands) {
    return Promise.all(cands.map(function (c) {
      return GG.api("/api/workers/" + c.worker_id).catch(function () { return null; });
    })).then(function (rows) {
      var byId = {};
      rows.forEach(function (w) { if (w) byId[w.id] = w; });
      return byId;
    });
  }

  function select(id) {
    state.selected = id;
    renderQueue();
    return GG.api("/api/events/" + id).then(function (ev) {
      state.event = ev;
      renderCase(ev);
      loadTimeline(id).catch(GG.fail);
      return GG.api("/api/events/" + id + "/candidates?k=5");
    }).then(function (res) {
      state.cands = res.candidates;
      state.emptyReason = res.empty_reason;  // the server says why nobody can go (never guessed here)
      return loadWorkers(res.candidates).then(function (workers) { renderCandidates(res.candidates, workers); });
    }).catch(GG.fail);
  }

  /* ---------- today's patrol tracks (the server's day: GET /api/coverage names it) ---------- */
  function toggleTracks(on) {
    if (!on) { if (state.tracks) map.removeLayer(state.tracks); return Promise.resolve(); }
    var ready = state.tracks ? Promise.resolve(state.tracks) : GG.api("/api/coverage?period=day&limit=1").then(function (c) {
      return GG.loadFeatures("tracks", "datetime=" + c.first);
    }).then(function (features) {
      state.tracks = GG.geoLayer("tracks", features, {
        style: { className: "gg-tracks", color: "#6a3d9a", weight: 2.5, opacity: 0.8 },
        onEachFeature: function (f, lyr) { lyr.bindTooltip(GG.esc(f.properties.worker) + " · " + GG.fmtDistance(f.properties.length_m)); },
      });
      return state.tracks;
    });
    return ready.then(function (layer) { if ($("show-tracks").checked) layer.addTo(map); }).catch(GG.fail);
  }

  /* ---------- actions ---------- */
  function act(path, body, message) {
    var id = state.selected;
    return GG.api("/api/events/" + id + "/" + path, { method: "POST", body: body }).then(function () {
      GG.toast(message);
      return Promise.all([loadBoard(), GG.api("/api/events/" + id).then(function (ev) { state.event = ev; renderCase(ev); }), loadTimeline(id)]);
    }).then(function () {
      document.querySelectorAll("[data-assign]").forEach(function (b) {
        b.disabled = ["reported", "registered"].indexOf(state.event.status) < 0;
      });
    }).catch(GG.fail);
  }

  $("queue").addEventListener("click", function (e) {
    var li = e.target.closest("li[data-id]");
    if (li) select(Number(li.getAttribute("data-id")));
  });
  $("cands").addEventListener("click", function (e) {
    var b = e.target.closest("[data-assign]");
    if (b) act("assign", { worker_id: Number(b.getAttribute("data-assign")) }, GG.label("status", "dispatched"));
  });
  $("show-tracks").addEventListener("change", function (e) { toggleTracks(e.target.checked); });
  $("btn-escalate").addEventListener("click", function () { act("escalate", {}, GG.t("msg.done")); });
  $("btn-refer").addEventListener("click", function () { act("refer", { to: $("refer-to").value }, GG.t("msg.done")); });
  $("btn-whistle").addEventListener("click", function () {
    act("whistle", { department_id: Number($("whistle-dept").value) }, GG.t("msg.done"));
  });
  document.addEventListener("gg:lang", function () {
    renderQueue();
    if (state.event) select(state.selected);
  });

  /* ---------- start: area outlines for context, then the queue ---------- */
  ["villages", "townships"].forEach(function (name) {  // villages give context when zoomed on a case
    GG.loadFeatures(name).then(function (fs) {
      var layer = GG.geoLayer(name, fs, {
        onEachFeature: function (f, l) { l.bindTooltip(GG.esc(f.properties.name), { sticky: true }); },
      }).addTo(map);
      if (name === "townships" && fs.length && !state.caseLayer) map.fitBounds(layer.getBounds());
    }).catch(GG.fail);
  });
  GG.api("/api/summary/departments").then(function (rows) {
    $("whistle-dept").innerHTML = rows.map(function (d) {
      return '<option value="' + d.id + '">' + GG.esc(d.name) + "</option>";
    }).join("");
  }).catch(GG.fail);
  GG.loadCategories().catch(GG.fail).then(loadBoard).then(function () {
    var wanted = Number(new URLSearchParams(location.search).get("case"));
    if (wanted) select(wanted);
  }).catch(GG.fail);
  // New cases and other desks' assignments change the queue: reload it (once per burst).
  var boardTimer = null;
  GG.live(function () {
    clearTimeout(boardTimer);
    boardTimer = setTimeout(function () { loadBoard().catch(GG.fail); }, 1000);
  });
  window.GGDispatcher = { state: state, map: map, select: select };
})();
