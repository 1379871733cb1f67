/* A department's desk (部门工作台): the tasks whistled or referred to this department (the database
 * shows it nothing else), and on the task picked, its next step: 签收 (one click), then 报到, then
 * 办结反馈, each with text and photos (the photos travel after the text, each with its own key). The
 * centre sees every step and whether it came late; so does this page.
 */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var esc = GG.esc;
  var NEXT = { signed: ["answer", "response", "task.text_answer", "task.answer_btn"],
    reported: ["finish", "feedback", "task.text_finish", "task.finish_btn"] };
  var state = { tab: "open", tasks: [], selected: null, task: null, layer: null };
  var map = GG.makeMap("map");
  map.createPane("points").style.zIndex = 450;

  function itemHtml(t) {
    var late = t.report_late || t.feedback_late;
    return '<li data-id="' + t.id + '" class="' + (late ? "overdue " : "") + (t.id === state.selected ? "sel" : "") + '">' +
      '<span class="gg-dot" data-color="' + (GG.KIND_COLORS[t.event_kind] || "#555") + '"></span>' +
      "<b>" + esc(GG.catLabel(t.category)) + "</b> · " + esc(GG.label("task_kind", t.kind)) + " · " +
      '<span class="gg-badge state-' + esc(t.state) + '">' + esc(GG.label("task_state", t.state)) + "</span>" +
      (late ? ' <span class="gg-badge late">' + GG.t("task.late") + "</span>" : "") + "<br>" +
      '<span class="gg-muted">' + esc(t.title) + "</span><br>" +
      '<span class="gg-muted">' + GG.t("task.respond_by") + " " + GG.fmtTime(t.respond_by, { style: "short" }) + " · #" + t.event_id + "</span></li>";
  }

  function renderList() {
    $("list").innerHTML = state.tasks.map(itemHtml).join("") || '<li class="gg-muted">' + GG.t("msg.empty") + "</li>";
    GG.paint($("list"));
    if (state.layer) map.removeLayer(state.layer);
    var shown = state.tasks.slice();
    if (state.task && !shown.some(function (t) { return t.id === state.task.id; })) shown.push(state.task);  // done, still shown
    state.layer = L.featureGroup(shown.map(function (t) {
      return L.circleMarker([t.lat, t.lon], { pane: "points", radius: t.id === state.selected ? 10 : 6, color: "#fff", weight: 2,
        fillColor: GG.KIND_COLORS[t.event_kind] || "#555", fillOpacity: 1, className: "gg-task" })
        .bindTooltip("#" + t.event_id + " " + esc(t.title)).on("click", function () { select(t.id); });
    })).addTo(map);
    if (state.tasks.length && !state.selected) map.fitBounds(state.layer.getBounds(), { padding: [80, 80], maxZoom: 13 });
  }

  function loadList() {
    return GG.api("api/whistles?state=" + state.tab).then(function (rows) {
      state.tasks = rows;
      renderList();
    });
  }

  function renderTask(t) {
    $("case-title").removeAttribute("data-i18n");
    $("case-title").textContent = "#" + t.event_id + " " + t.title;
    $("task").innerHTML = GG.Case.task(t);
    $("btn-sign").hidden = t.state !== "requested";
    var next = NEXT[t.state];
    $("answer").hidden = !next;
    if (next) {
      $("answer-text").placeholder = GG.t(next[2]);
      $("answer-send").textContent = GG.t(next[3]);
      $("answer-send").setAttribute("data-step", next[0]);
    }
  }

  function select(id) {
    state.selected = id;
    return GG.api("api/whistles/" + id).then(function (t) {
      state.task = t;
      renderTask(t);
      $("case-body").hidden = false;
      renderList();
      map.setView([t.lat, t.lon], 14);
      return GG.Case.load(t.event_id);
    }).then(function (c) {
      GG.Case.render(c, { meta: "case-meta", timeline: "timeline", photos: "photos", parties: "parties" });
    }).catch(GG.fail);
  }

  /** Send the photos picked, one request each with its own key (a resend is stored once). */
  function sendPhotos(id) {
    var files = Array.prototype.slice.call($("answer-photos").files || []);
    return files.reduce(function (chain, file, i) {
      return chain.then(function () {
        var form = new FormData();
        form.append("photo", file, file.name);
        return GG.api("api/whistles/" + id + "/photos", { method: "POST", body: form, headers: { "Idempotency-Key": "task-" + id + "-" + Date.now() + "-" + i } });
      });
    }, Promise.resolve()).then(function () { return files.length; });
  }

  function step(path, body) {
    var id = state.selected;
    return GG.api("api/whistles/" + id + "/" + path, { method: "POST", body: body });
  }

  $("btn-sign").addEventListener("click", function () {
    step("sign", {}).then(function () { GG.toast(GG.label("task_state", "signed")); return Promise.all([loadList(), select(state.selected)]); }).catch(GG.fail);
  });
  $("answer-send").addEventListener("click", function () {
    var id = state.selected, which = $("answer-send").getAttribute("data-step");
    var path = which === "answer" ? "response" : "feedback";
    step(path, { text: $("answer-text").value.trim() }).then(function () {
      return sendPhotos(id);
    }).then(function (n) {
      $("answer-text").value = "";
      $("answer-photos").value = "";
      GG.toast(GG.label("action", which === "answer" ? "whistle_response" : "whistle_feedback") + (n ? " · " + GG.t("task.photos_sent", { n: n }) : ""));
      return Promise.all([loadList(), select(id)]);
    }).catch(GG.fail);
  });
  $("tabs").addEventListener("click", function (e) {
    var b = e.target.closest("[data-tab]");
    if (!b) return;
    state.tab = b.getAttribute("data-tab");
    document.querySelectorAll("#tabs [data-tab]").forEach(function (x) { x.classList.toggle("on", x === b); });
    loadList().catch(GG.fail);
  });
  $("list").addEventListener("click", function (e) {
    var li = e.target.closest("li[data-id]");
    if (li) select(Number(li.getAttribute("data-id")));
  });
  document.addEventListener("gg:lang", function () { renderList(); if (state.task) renderTask(state.task); });

  GG.outlines(map).then(function (layer) {
    if (layer.getLayers().length && !state.tasks.length) map.fitBounds(layer.getBounds());
  }).catch(GG.fail);
  GG.loadCategories().catch(GG.fail).then(loadList).catch(GG.fail);
  window.GGDepartment = { state: state, map: map, select: select };
})();
