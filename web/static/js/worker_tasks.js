/* The grid worker's own tasks on the phone: the list (with the moves the server allows: 开始处置, 处置完毕;
 * after 处置完毕 none), and a task's detail: a small map, its photos, its timeline, and handling with
 * before/after photos (处置前后) and the result. The list is kept for offline reading (the service worker
 * and localStorage); moving a case needs the network. Deadlines and 超期 are the server's.
 */
(function () {
  "use strict";
  var W = window.GridWorker;
  if (!W || !document.getElementById("gw-task-list")) { return; }
  var TASKS_KEY = "gridgov.worker.tasks.v1";
  var MOVE_ACTIONS = { "dispatched>in_progress": "start", "in_progress>handled": "handle" };
  var state = { tasks: [], open: null, map: null, layer: null };
  var $ = function (id) { return document.getElementById(id); };

  function moveLabel(from, to) {
    var action = MOVE_ACTIONS[from + ">" + to];
    return action ? GG.label("action", action) : GG.label("status", to);
  }

  function loadTasks() {
    return GG.api("/api/me/tasks").then(function (tasks) {
      localStorage.setItem(TASKS_KEY, JSON.stringify(tasks));
      renderTasks(tasks);
    }).catch(function () {
      try { renderTasks(JSON.parse(localStorage.getItem(TASKS_KEY) || "[]")); } catch (e) { renderTasks([]); }
    });
  }

  function moveButton(t, to) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "gw-primary gw-move";
    b.dataset.to = to;
    b.textContent = moveLabel(t.status, to);
    b.addEventListener("click", function (e) { e.stopPropagation(); move(t, to, b); });
    return b;
  }

  function renderTasks(tasks) {
    state.tasks = tasks;
    var list = $("gw-task-list");
    $("gw-task-count").textContent = String(tasks.length);
    list.innerHTML = "";
    if (!tasks.length) { list.appendChild(W.li("暂无任务", "gw-empty")); return; }
    tasks.forEach(function (t) {
      var item = W.li("", "gw-task sev-" + t.severity);
      item.dataset.eventId = t.id;
      var head = document.createElement("div");
      head.className = "gw-task-head";
      head.textContent = "#" + t.id + " " + (t.title || t.category_zh);
      var meta = document.createElement("div");
      meta.className = "gw-meta";
      meta.textContent = t.category_zh + " · " + GG.label("severity", t.severity) + " · " + GG.label("status", t.status);
      item.appendChild(head);
      item.appendChild(meta);
      if (t.deadline_at) { item.appendChild(deadlineLine(t)); }
      var actions = document.createElement("div");
      actions.className = "gw-actions";
      t.next.forEach(function (to) { actions.appendChild(moveButton(t, to)); });
      if (t.status === "handled") { actions.appendChild(W.li(GG.label("status", "handled") + "，等待核查", "gw-waiting")); }
      item.appendChild(actions);
      item.addEventListener("click", function () { openDetail(t); });
      list.appendChild(item);
    });
  }

  // 办理时限 2026-12-06 17:30 (UTC+8), the same text as the dispatcher's desk shows, and 时限待定 if provisional.
  function deadlineLine(t) {
    var line = document.createElement("div");
    line.className = "gw-meta";
    line.appendChild(document.createTextNode(GG.t("label.deadline") + " "));
    var when = document.createElement("span");
    when.className = "gw-deadline" + (t.overdue === true ? " gw-overdue" : "");
    when.textContent = GG.fmtDeadline(t);
    line.appendChild(when);
    if (t.overdue === true) {  // the server's clock decides, not the phone's
      var late = document.createElement("span");
      late.className = "gw-overdue gw-late";
      late.textContent = " " + GG.t("msg.overdue");
      line.appendChild(late);
    }
    var note = GG.deadlineNote(t);
    if (note) {
      var extra = document.createElement("span");
      extra.className = "gw-provisional";
      extra.textContent = " " + note;
      line.appendChild(extra);
    }
    return line;
  }

  function move(t, to, button) {
    button.disabled = true;
    var note = to === "handled" && state.open === t.id ? $("gw-d-result").value.trim() : "";
    return GG.api("/api/events/" + t.id + "/transition", { method: "POST", body: { to: to, note: note } }).then(function (ev) {
      W.toast("#" + t.id + " " + moveLabel(t.status, to));
      return loadTasks().then(function () { if (state.open === t.id) { openDetail(Object.assign({}, t, ev, { next: nextOf(ev) })); } });
    }).catch(function (err) { W.toast(err.status ? err.message : "需联网才能变更案件状态", true); button.disabled = false; });
  }

  function nextOf(ev) {
    var t = state.tasks.filter(function (x) { return x.id === ev.id; })[0];
    return t ? t.next : [];
  }

  // ---- detail
  function openDetail(t) {
    state.open = t.id;
    $("gw-task-list").hidden = true;
    $("gw-detail").hidden = false;
    $("gw-detail").dataset.eventId = t.id;
    $("gw-d-title").textContent = "#" + t.id + " " + (t.title || t.category_zh || "");
    $("gw-d-meta").textContent = (t.category_zh || "") + " · " + GG.label("severity", t.severity) + " · " +
      GG.label("status", t.status) + (t.deadline_at ? " · " + GG.t("label.deadline") + " " + GG.fmtDeadline(t) : "");
    $("gw-d-handle").hidden = t.status !== "in_progress";
    var actions = $("gw-d-actions");
    actions.innerHTML = "";
    (t.next || []).forEach(function (to) { actions.appendChild(moveButton(t, to)); });
    if (t.status === "handled") { actions.appendChild(W.li(GG.label("status", "handled") + "，等待核查", "gw-waiting")); }
    drawMap(t);
    loadPhotos(t.id);
    loadTimeline(t.id);
  }

  function closeDetail() {
    state.open = null;
    $("gw-detail").hidden = true;
    $("gw-task-list").hidden = false;
  }

  function drawMap(t) {
    if (!window.L || t.lat === undefined || t.lat === null) { return; }
    if (!state.map) { state.map = GG.makeMap("gw-d-map"); }
    if (state.layer) { state.map.removeLayer(state.layer); }
    state.layer = L.circleMarker([t.lat, t.lon], { radius: 9, color: "#fff", weight: 2, fillColor: "#b30000", fillOpacity: 0.9,
      className: "gw-case" }).addTo(state.map);
    state.map.invalidateSize();
    state.map.setView([t.lat, t.lon], 16);
  }

  function loadPhotos(id) {
    var box = $("gw-d-photos");
    box.innerHTML = "";
    GG.api("/api/events/" + id + "/photos").then(function (photos) {
      if (!photos.length) { box.textContent = "暂无照片"; return; }
      photos.forEach(function (p) {
        var fig = document.createElement("figure");
        fig.className = "gw-photo" + (p.stage ? " gw-photo-" + p.stage : "");
        var img = document.createElement("img");
        img.src = p.url;
        img.alt = p.stage === "before" ? "处置前" : p.stage === "after" ? "处置后" : "现场照片";
        var cap = document.createElement("figcaption");
        cap.textContent = img.alt + " · " + GG.fmtTime(p.at, { style: "short" });
        fig.appendChild(img);
        fig.appendChild(cap);
        box.appendChild(fig);
      });
    }).catch(function () { box.textContent = "离线：照片暂不可见"; });
  }

  function loadTimeline(id) {
    var list = $("gw-d-timeline");
    list.innerHTML = "";
    GG.api("/api/events/" + id + "/timeline").then(function (entries) {
      entries.slice().reverse().forEach(function (e) {
        var item = W.li("", "gw-entry");
        item.dataset.action = e.action;
        var b = document.createElement("b");
        b.textContent = GG.label("action", e.action);
        item.appendChild(b);
        item.appendChild(document.createTextNode(" " + GG.fmtTime(e.at, { style: "short" }) + (e.note ? " · " + e.note : "")));
        list.appendChild(item);
      });
    }).catch(function () { list.appendChild(W.li("离线：办理过程暂不可见", "gw-empty")); });
  }

  function uploadStage(input) {
    var id = state.open;
    var stage = input.getAttribute("data-stage");
    W.readPhoto(input.files[0]).then(function (photo) {
      if (!photo) { return null; }
      var form = new FormData();
      form.append("photo", W.dataUrlToBlob(photo), stage + ".jpg");
      return GG.api("/api/events/" + id + "/photos?stage=" + stage,
        { method: "POST", body: form, headers: { "Idempotency-Key": id + "-" + stage + "-" + W.uuid() } });
    }).then(function (saved) {
      if (saved) { W.toast(stage === "before" ? "处置前照片已上传" : "处置后照片已上传"); loadPhotos(id); }
      input.value = "";
    }).catch(function (err) { W.toast(err.status ? err.message : "需联网才能上传处置照片", true); });
  }

  function init() {
    $("gw-detail-back").addEventListener("click", closeDetail);
    ["gw-d-before", "gw-d-after"].forEach(function (id) {
      $(id).addEventListener("change", function (e) { uploadStage(e.target); });
    });
    document.addEventListener("gw:tab", function (e) { if (e.detail === "tasks") { closeDetail(); loadTasks(); } });
    W.onFlush(loadTasks);
    loadTasks();
  }

  window.GridWorkerTasks = { load: loadTasks, open: function (id) { openDetail(state.tasks.filter(function (t) { return t.id === id; })[0]); } };
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
