/* The dispatcher's desk: case lists searched, filtered, sorted and paged by the server; a case with every
 * step the API allows it now (GET /api/events/{id}/steps), each at most a click to open and a click to
 * confirm; candidates to dispatch to in one click; departments to whistle, those taking the case's
 * category first; tasks, photos, parties and the timeline (case.js). Every refusal is the server's
 * problem+json message; 超期 comes from the server, never from this browser's clock.
 */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var esc = GG.esc;
  var TABS = {  // each tab is a preset of the list query
    queue: { view: "queue" }, overdue: { view: "open", deadline: "overdue", sort: "deadline" },
    due_soon: { view: "open", deadline: "due_soon", sort: "deadline" }, referred: { view: "referred" },
    open: { view: "open" }, all: { view: "all", sort: "newest" },
  };
  // Transitions the desk takes through POST /transition: action -> target status.
  var TARGET = { register: "registered", reject: "rejected", mark_duplicate: "duplicate", start: "in_progress",
    handle: "handled", rework: "in_progress", verify: "verified", close: "closed" };
  var PER_PAGE = 20;
  var state = { tab: "queue", page: 1, list: null, selected: null, event: null, steps: [], open: null, layers: {} };
  var map = GG.makeMap("map");
  map.createPane("points").style.zIndex = 450;

  /* ---------- the list ---------- */
  function listQuery() {
    var preset = TABS[state.tab], q = new URLSearchParams();
    q.set("view", preset.view);
    var deadline = $("f-deadline").value || preset.deadline;
    if (deadline) q.set("deadline", deadline);
    q.set("sort", $("f-sort").value !== "priority" ? $("f-sort").value : preset.sort || "priority");
    [["status", "f-status"], ["category", "f-category"], ["township", "f-township"]].forEach(function (f) {
      if ($(f[1]).value) q.set(f[0], $(f[1]).value);
    });
    if ($("q").value.trim()) q.set("q", $("q").value.trim());
    q.set("page", state.page);
    q.set("per_page", PER_PAGE);
    return q.toString();
  }

  function itemHtml(c) {
    var flags = (c.overdue ? ' <span class="gg-overdue">' + GG.t("msg.overdue") + "</span>" : "") +
      (c.suspended_at ? ' <span class="gg-badge held">' + GG.t("msg.suspended") + "</span>" : "") +
      (c.referral_status === "referred" ? ' <span class="gg-badge out">' + esc(GG.t("msg.referred", { to: GG.label("referral", c.referral) })) + "</span>" : "");
    return '<li data-id="' + c.id + '" class="' + (c.overdue ? "overdue " : "") + (c.id === state.selected ? "sel" : "") + '">' +
      '<span class="gg-dot" data-color="' + (GG.KIND_COLORS[c.kind] || "#555") + '"></span>' +
      "<b>" + esc(GG.catLabel(c.category)) + "</b> · " + esc(GG.label("severity", c.severity)) + flags + "<br>" +
      '<span class="gg-muted">' + esc(c.title) + "</span><br>" +
      '<span class="gg-muted">' + esc(c.township || "") + " <code>" + GG.fmtCode(c.grid_code) + "</code> · " +
      GG.fmtTime(c.reported_at, { style: "short" }) + " · " + esc(GG.label("status", c.status)) + " · #" + c.id + "</span></li>";
  }

  function renderList() {
    var page = state.list;
    $("list").innerHTML = page.items.map(itemHtml).join("") || '<li class="gg-muted">' + GG.t("msg.empty") + "</li>";
    GG.paint($("list"));
    $("pager-text").textContent = GG.t("pager.text", { page: page.page, pages: page.pages, total: page.total });
    $("pager-prev").disabled = page.page <= 1;
    $("pager-next").disabled = page.page >= page.pages;
    drawListed(page.items);
  }

  function loadList() {
    return GG.api("api/events?" + listQuery()).then(function (page) {
      state.list = page;
      renderList();
    });
  }

  /** The listed cases as small markers (click one to open it). */
  function drawListed(items) {
    if (state.layers.listed) map.removeLayer(state.layers.listed);
    state.layers.listed = L.layerGroup(items.map(function (c) {
      return L.circleMarker([c.lat, c.lon], { pane: "points", radius: 5, color: c.overdue ? "#67000d" : "#fff", weight: c.overdue ? 2 : 1,
        fillColor: GG.KIND_COLORS[c.kind] || "#555", fillOpacity: 0.9, className: "gg-listed" })
        .bindTooltip("#" + c.id + " " + esc(c.title)).on("click", function () { select(c.id); });
    })).addTo(map);
  }

  /* ---------- the case ---------- */
  function select(id) {
    state.selected = id;
    state.open = null;
    document.querySelectorAll("#list li[data-id]").forEach(function (li) { li.classList.toggle("sel", Number(li.getAttribute("data-id")) === id); });
    return Promise.all([GG.Case.load(id), GG.api("api/events/" + id + "/steps")]).then(function (r) {
      state.event = r[0].event;
      state.steps = r[1];
      $("case-title").removeAttribute("data-i18n");
      $("case-title").textContent = "#" + id + " " + (state.event.title || GG.catLabel(state.event.category));
      GG.Case.render(r[0], { meta: "case-meta", timeline: "timeline", tasks: "tasks", photos: "photos", parties: "parties" });
      $("case-body").hidden = false;
      renderSteps();
      return loadCandidates();
    }).catch(GG.fail);
  }

  function stepOf(action) { return state.steps.filter(function (s) { return s.action === action; })[0]; }

  function renderSteps() {
    $("steps").innerHTML = state.steps.map(function (s) {
      return '<button type="button" data-step="' + s.action + '"' + (s.blocked ? ' disabled title="' + esc(s.blocked) + '"' : "") +
        (s.action === state.open ? ' class="on"' : "") + ">" + esc(GG.label("action", s.action)) + "</button>";
    }).join("") + state.steps.filter(function (s) { return s.blocked; }).map(function (s) {
      return '<p class="gg-muted" data-blocked="' + s.action + '">' + esc(GG.label("action", s.action)) + "：" + esc(s.blocked) + "</p>";
    }).join("") || '<span class="gg-muted">' + GG.t("msg.empty") + "</span>";
    $("step-form").hidden = true;
    $("step-form").innerHTML = "";  // a form belongs to one opening of one step
  }

  /* ---------- forms of the steps that need something from the dispatcher ---------- */
  function field(html) { return '<label class="gg-field">' + html + "</label>"; }
  var FORMS = {
    reason: function () { return field('<textarea id="sf-reason" rows="2" maxlength="2000" placeholder="' + esc(GG.t("step.reason")) + '"></textarea>'); },
    duplicate_of: function () { return field(GG.t("step.duplicate_of") + ' <input id="sf-duplicate" type="number" min="1">'); },
    referral: function () {
      return field('<select id="sf-referral">' + Object.keys(GG.vocab.zh.referral).map(function (k) {
        return '<option value="' + k + '">' + esc(GG.label("referral", k)) + "</option>";
      }).join("") + "</select>") + field('<input id="sf-note" maxlength="2000" placeholder="' + esc(GG.t("step.note")) + '">');
    },
    amount: function () {
      return field(GG.t("step.amount") + ' <input id="sf-amount" type="number" min="1" max="60" value="3"> <select id="sf-unit">' +
        '<option value="days">' + GG.t("step.days") + '</option><option value="hours">' + GG.t("step.hours") + "</option></select>") + FORMS.reason();
    },
    department: function (choices) {
      return field(GG.t("step.department") + ' <select id="sf-department">' + choices.map(function (d) {
        return '<option value="' + d.id + '"' + (d.open_task_id ? " disabled" : "") + ">" + esc(d.name) +
          (d.suggested ? GG.t("step.suggested") : "") + (d.open_task_id ? GG.t("step.already") : "") + "</option>";
      }).join("") + "</select>") + field(GG.t("step.respond_hours") + ' <input id="sf-hours" type="number" min="1" max="720" value="24">') +
        field('<input id="sf-note" maxlength="2000" placeholder="' + esc(GG.t("step.note")) + '">');
    },
  };

  function openForm(s) {
    state.open = s.action;
    renderSteps();
    var ready = s.needs === "department" ? GG.api("api/events/" + state.selected + "/departments") : Promise.resolve([]);
    return ready.then(function (choices) {
      $("step-form").innerHTML = "<b>" + esc(GG.label("action", s.action)) + "</b>" + FORMS[s.needs](choices) +
        '<div class="gg-actions"><button type="button" class="primary" id="step-confirm">' + GG.t("btn.confirm") + "</button>" +
        '<button type="button" id="step-cancel">' + GG.t("btn.cancel") + "</button></div>";
      $("step-form").hidden = false;
      var first = $("step-form").querySelector("textarea, input, select");
      if (first) first.focus();
    });
  }

  function val(id) { var el = $(id); return el ? el.value.trim() : ""; }

  /** The request a step sends: [path, body]. */
  function request(action) {
    if (TARGET[action]) {
      var body = { to: TARGET[action], note: val("sf-reason") };
      if (action === "mark_duplicate") body.duplicate_of = Number(val("sf-duplicate")) || null;
      return ["transition", body];
    }
    if (action === "refer") return ["refer", { to: val("sf-referral"), note: val("sf-note") }];
    if (action === "referral_return") return ["refer", { action: "return" }];
    if (action === "whistle") {
      return ["whistle", { department_id: Number(val("sf-department")), respond_within_hours: Number(val("sf-hours")) || null, note: val("sf-note") }];
    }
    if (action === "extend") {
      var amount = Number(val("sf-amount")), extend = { reason: val("sf-reason") };
      extend[val("sf-unit") === "hours" ? "hours" : "days"] = amount;
      return ["extend", extend];
    }
    if (action === "suspend") return ["suspend", { reason: val("sf-reason") }];
    return [action, {}];  // escalate, resume
  }

  function take(action, path, body) {
    var id = state.selected;
    return GG.api("api/events/" + id + "/" + path, { method: "POST", body: body }).then(function () {
      GG.toast(GG.t("step.taken", { step: GG.label("action", action) }));
      return Promise.all([loadList(), select(id)]);
    }).catch(GG.fail);
  }

  $("steps").addEventListener("click", function (e) {
    var b = e.target.closest("[data-step]");
    if (!b || b.disabled) return;
    var s = stepOf(b.getAttribute("data-step"));
    if (s.needs === "worker") { $("cands-box").scrollIntoView({ block: "nearest" }); GG.toast(GG.t("step.pick_worker")); return; }
    if (s.needs) { openForm(s).catch(GG.fail); return; }
    var r = request(s.action);
    take(s.action, r[0], r[1]);
  });
  $("step-form").addEventListener("click", function (e) {
    if (e.target.id === "step-cancel") { state.open = null; renderSteps(); }
    if (e.target.id === "step-confirm" && state.open) { var r = request(state.open); take(state.open, r[0], r[1]); }
  });

  /* ---------- candidates: dispatch or re-dispatch in one click ---------- */
  function loadCandidates() {
    var step = stepOf("assign") || stepOf("reassign");
    $("cands-box").hidden = !step;
    if (state.layers.caseLayer) map.removeLayer(state.layers.caseLayer);
    if (!step) { drawCase([], {}); return Promise.resolve(); }
    return GG.api("api/events/" + state.selected + "/candidates?k=5").then(function (res) {
      state.emptyReason = res.empty_reason;  // the server says why nobody can go (never guessed here)
      return loadWorkers(res.candidates).then(function (workers) { renderCandidates(res.candidates, workers, step.action); });
    });
  }

  function renderCandidates(cands, workers, action) {
    var current = state.event.assignee_id;
    $("cands").innerHTML = cands.map(function (c) {
      var mine = c.worker_id === current;
      return '<li data-worker="' + c.worker_id + '"><span class="grow"><b>' + esc(c.name) + "</b> <code>" +
        GG.fmtCode(c.grid_code) + '</code><br><span class="gg-muted">' + GG.fmtDistance(c.distance_m) + " · " +
        GG.t("unit.load") + " " + c.open_tasks + "/" + c.capacity + " · " + esc(c.reasons.join("，")) + "</span></span>" +
        '<button type="button" class="primary" data-assign="' + c.worker_id + '" data-action="' + action + '"' + (mine ? " disabled" : "") + ">" +
        GG.t(action === "reassign" ? "btn.reassign" : "btn.assign") + "</button></li>";
    }).join("") || '<li class="gg-muted gg-empty-reason">' + esc(state.emptyReason || GG.t("msg.empty")) + "</li>";
    drawCase(cands, workers);
  }

  /** Candidates come without positions: fetch each worker's (WGS84) position for the map. */
  function loadWorkers(cands) {
    return Promise.all(cands.map(function (c) {
      return GG.api("api/workers/" + c.worker_id).catch(function () { return null; });
    })).then(function (rows) {
      var byId = {};
      rows.forEach(function (w) { if (w) byId[w.id] = w; });
      return byId;
    });
  }

  /** The case (a larger dark marker), each candidate's position, and a line case → worker. */
  function drawCase(cands, workers) {
    var ev = state.event, here = [ev.lat, ev.lon], group = L.featureGroup();
    cands.forEach(function (c) {
      var w = workers[c.worker_id];
      if (!w || w.lat === null) return;
      L.polyline([here, [w.lat, w.lon]], { pane: "points", color: "#6a51a3", weight: 2, dashArray: "4 4", className: "gg-cand-line" }).addTo(group);
      L.circleMarker([w.lat, w.lon], { pane: "points", radius: 7, color: "#fff", weight: 2, fillColor: "#238b45", fillOpacity: 1, className: "gg-candidate" })
        .bindTooltip(esc(c.name) + " · " + GG.fmtDistance(c.distance_m), { permanent: true, direction: "right" }).addTo(group);
    });
    L.circleMarker(here, { pane: "points", radius: 10, color: "#fff", weight: 3, fillColor: GG.KIND_COLORS[ev.kind] || "#d7301f", fillOpacity: 1, className: "gg-case" }).addTo(group);
    state.layers.caseLayer = group.addTo(map);
    map.fitBounds(group.getBounds(), { padding: [60, 60], maxZoom: 15 });
  }

  $("cands").addEventListener("click", function (e) {
    var b = e.target.closest("[data-assign]");
    if (!b) return;
    var action = b.getAttribute("data-action");
    take(action, "assign", { worker_id: Number(b.getAttribute("data-assign")), reassign: action === "reassign" });
  });

  /* ---------- today's patrol tracks (the server's day: GET /api/coverage names it) ---------- */
  function toggleTracks(on) {
    if (!on) { if (state.tracks) map.removeLayer(state.tracks); return Promise.resolve(); }
    var ready = state.tracks ? Promise.resolve(state.tracks) : GG.api("api/coverage?period=day&limit=1").then(function (c) {
      return GG.loadFeatures("tracks", "datetime=" + c.first);
    }).then(function (features) {
      state.tracks = GG.geoLayer("tracks", features, {
        style: { className: "gg-tracks", color: "#6a3d9a", weight: 2.5, opacity: 0.8 },
        onEachFeature: function (f, lyr) { lyr.bindTooltip(esc(f.properties.worker) + " · " + GG.fmtDistance(f.properties.length_m)); },
      });
      return state.tracks;
    });
    return ready.then(function (layer) { if ($("show-tracks").checked) layer.addTo(map); }).catch(GG.fail);
  }
  $("show-tracks").addEventListener("change", function (e) { toggleTracks(e.target.checked); });

  /* ---------- list controls ---------- */
  $("tabs").addEventListener("click", function (e) {
    var b = e.target.closest("[data-tab]");
    if (!b) return;
    state.tab = b.getAttribute("data-tab");
    state.page = 1;
    document.querySelectorAll("#tabs [data-tab]").forEach(function (x) { x.classList.toggle("on", x === b); });
    loadList().catch(GG.fail);
  });
  ["f-status", "f-category", "f-township", "f-deadline", "f-sort"].forEach(function (id) {
    $(id).addEventListener("change", function () { state.page = 1; loadList().catch(GG.fail); });
  });
  var typing = null;
  $("q").addEventListener("input", function () {
    clearTimeout(typing);
    typing = setTimeout(function () { state.page = 1; loadList().catch(GG.fail); }, 400);
  });
  $("filters").addEventListener("submit", function (e) { e.preventDefault(); state.page = 1; loadList().catch(GG.fail); });
  $("pager-prev").addEventListener("click", function () { state.page -= 1; loadList().catch(GG.fail); });
  $("pager-next").addEventListener("click", function () { state.page += 1; loadList().catch(GG.fail); });
  $("list").addEventListener("click", function (e) {
    var li = e.target.closest("li[data-id]");
    if (li) select(Number(li.getAttribute("data-id")));
  });
  document.addEventListener("gg:lang", function () {
    if (state.list) renderList();
    if (state.selected) select(state.selected);
  });

  /* ---------- start: outlines with township names, the filters' choices, then the list ---------- */
  GG.outlines(map, { select: "f-township" }).then(function (layer) {
    if (layer.getLayers().length && !state.layers.caseLayer) map.fitBounds(layer.getBounds());
  }).catch(GG.fail);
  GG.loadCategories().then(function (rows) {
    $("f-category").insertAdjacentHTML("beforeend", rows.map(function (c) {
      return '<option value="' + esc(c.code) + '">' + esc(GG.catLabel(c.code)) + "</option>";
    }).join(""));
  }).catch(GG.fail).then(loadList).then(function () {
    var wanted = Number(new URLSearchParams(location.search).get("case"));
    if (wanted) select(wanted);
  }).catch(GG.fail);
  // New cases and other desks' steps change the lists: reload the page of the list (once per burst).
  var listTimer = null;
  GG.live(function () {
    clearTimeout(listTimer);
    listTimer = setTimeout(function () { loadList().catch(GG.fail); }, 1000);
  });
  window.GGDispatcher = { state: state, map: map, select: select, loadList: loadList };
})();
