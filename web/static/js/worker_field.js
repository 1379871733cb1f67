/* Field work on the phone: on duty / off duty, the position sent while on duty, household visits, and the
 * service worker that lets the page open without signal.
 *
 * Positions: while the worker is on duty the page watches the phone's position (navigator.geolocation)
 * and keeps a fix when one is due: every data-fix-every seconds while moving (more than 30 m from the
 * last kept fix), four times as rarely standing still, with every report and visit, and never more often
 * than every data-fix-min seconds. A fix
 * carries its own time (the moment the page got it) and the accuracy the phone gave. Fixes wait in
 * localStorage; before sending they are sealed into a batch with a key made on the phone, and that exact
 * batch is resent until the server has it (POST /api/workers/{id}/fixes stores a key once).
 * Visits queue the same way as reports (worker.js): a client key made on the phone, the photo after it.
 * The indicator (#gw-track) says whether positions are recorded, how many wait, and stops off duty.
 */
(function () {
  "use strict";
  var W = window.GridWorker;
  var root = document.getElementById("gw");
  if (!W || !root) { return; }
  var WORKER = Number(root.getAttribute("data-worker")) || null;
  var EVERY_MS = 1000 * Number(root.getAttribute("data-fix-every") || 120);
  var MIN_MS = 1000 * Number(root.getAttribute("data-fix-min") || 30);
  var MAX_BATCH = Number(root.getAttribute("data-max-batch") || 200);
  var MOVED_M = 30;
  var KEYS = { fixes: "gridgov.worker.fixes.v1", batches: "gridgov.worker.batches.v1",
    visits: "gridgov.worker.visits.v1", duty: "gridgov.worker.duty.v1", kept: "gridgov.worker.kept.v1",
    last: "gridgov.worker.last.v1" };
  // The last kept fix is remembered across reloads: the cadence holds when the page is reopened.
  var state = { watch: null, onDuty: false, last: load(KEYS.last, null), sending: false, device: deviceId() };

  if (GG.dict) {
    Object.assign(GG.dict.en, {
      "worker.tab_visit": "Visit", "worker.on_duty": "On duty", "worker.track_off": "Off duty: no positions recorded",
      "worker.v_address": "Address or building", "worker.v_household": "Household or place (optional)",
      "worker.v_note": "What you found", "worker.v_submit": "Record visit", "worker.v_queue": "Visits waiting",
      "worker.back": "Back to my tasks", "worker.photos": "Photos", "worker.before": "Before (photo)",
      "worker.after": "After (photo)", "worker.result": "Result", "worker.timeline": "Timeline"
    });
  }

  function load(key, fallback) {
    try { var v = JSON.parse(localStorage.getItem(key)); return v === null ? fallback : v; } catch (e) { return fallback; }
  }
  function save(key, value) { localStorage.setItem(key, JSON.stringify(value)); }
  function deviceId() {
    var id = localStorage.getItem("gridgov.worker.device");
    if (!id) { id = W.uuid().slice(0, 8); localStorage.setItem("gridgov.worker.device", id); }
    return id;
  }

  // ---- keeping fixes
  function metres(a, b) {
    var dy = (a.lat - b.lat) * 111320, dx = (a.lon - b.lon) * 111320 * Math.cos(a.lat * Math.PI / 180);
    return Math.sqrt(dx * dx + dy * dy);
  }

  /** Keep the position as a fix if one is due: never sooner than MIN_MS after the last; with a report or
   * visit (`source`) then; otherwise every EVERY_MS while moving, and four times as rarely standing still. */
  function keep(pos, source) {
    if (!state.onDuty || !pos || pos.picked) { return false; }
    var now = Date.now();
    var last = state.last;
    if (last) {
      var since = now - last.t;
      var still = metres(last, pos) < MOVED_M;
      if (since < MIN_MS || (!source && (since < EVERY_MS || (still && since < 4 * EVERY_MS)))) { return false; }
    }
    var fixes = load(KEYS.fixes, []);
    fixes.push({ at: new Date(now).toISOString(), lon: pos.lon, lat: pos.lat,
      accuracy_m: pos.accuracy === null ? null : Math.round(pos.accuracy * 10) / 10, source: source || "phone" });
    save(KEYS.fixes, fixes);
    state.last = { t: now, lon: pos.lon, lat: pos.lat };
    save(KEYS.last, state.last);
    save(KEYS.kept, load(KEYS.kept, 0) + 1);
    renderTrack();
    return true;
  }

  function watch(on) {
    if (!navigator.geolocation) { return; }
    if (on && state.watch === null) {
      state.watch = navigator.geolocation.watchPosition(function (p) {
        W.setPosition(p.coords.longitude, p.coords.latitude, "当前位置", p.coords.accuracy);
        state.gpsAt = Date.now();
        keep(W.position());
      }, function () { renderTrack("无法获取定位"); }, { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
    } else if (!on && state.watch !== null) {
      navigator.geolocation.clearWatch(state.watch);
      state.watch = null;
    }
  }

  // ---- sending fixes: seal the waiting ones into batches, then send each batch until it is stored
  function seal() {
    var fixes = load(KEYS.fixes, []);
    if (!fixes.length) { return; }
    var batches = load(KEYS.batches, []);
    for (var i = 0; i < fixes.length; i += MAX_BATCH) {
      batches.push({ key: state.device + ":" + W.uuid(), fixes: fixes.slice(i, i + MAX_BATCH) });
    }
    save(KEYS.batches, batches);  // sealed before they leave fixes: a fix is never in two batches
    save(KEYS.fixes, []);
  }

  function sendFixes() {
    if (!WORKER || state.sending || !navigator.onLine) { return Promise.resolve(); }
    state.sending = true;
    seal();
    var chain = Promise.resolve(true);
    load(KEYS.batches, []).forEach(function (b) {
      chain = chain.then(function (go) {
        if (!go) { return false; }
        return GG.api("/api/workers/" + WORKER + "/fixes", { method: "POST", body: { batch_key: b.key, fixes: b.fixes } })
          .then(function () { dropBatch(b.key); return true; })
          .catch(function (err) {
            if (!err.status || err.status >= 500 || err.status === 408 || err.status === 429) { return false; }
            dropBatch(b.key);  // refused (a wrong clock, a bad fix): resending cannot help; say why
            W.toast("位置记录未被接受：" + err.message, true);
            return true;
          });
      });
    });
    return chain.then(function () { state.sending = false; renderTrack(); }, function () { state.sending = false; });
  }

  function dropBatch(key) { save(KEYS.batches, load(KEYS.batches, []).filter(function (b) { return b.key !== key; })); }

  function waitingFixes() {
    return load(KEYS.fixes, []).length + load(KEYS.batches, []).reduce(function (n, b) { return n + b.fixes.length; }, 0);
  }

  function renderTrack(problem) {
    var box = document.getElementById("gw-track");
    var text = document.getElementById("gw-track-text");
    text.removeAttribute("data-i18n");
    box.setAttribute("data-state", state.onDuty ? "on" : "off");
    if (!state.onDuty) { text.textContent = GG.t("worker.track_off"); return; }
    var waiting = waitingFixes();
    text.textContent = (problem || "正在记录巡查轨迹") + " · 已记录 " + load(KEYS.kept, 0) + " 个位置" +
      (waiting ? " · " + waiting + " 个待发送" : "");
  }

  // ---- on duty / off duty
  function setDuty(on, fromServer) {
    state.onDuty = !!on;
    save(KEYS.duty, state.onDuty);
    document.getElementById("gw-duty").checked = state.onDuty;
    watch(state.onDuty);
    renderTrack();
    if (fromServer || !WORKER) { return Promise.resolve(); }
    return GG.api("/api/workers/" + WORKER, { method: "PATCH", body: { on_duty: state.onDuty } })
      .then(function () { W.toast(state.onDuty ? "已在岗：开始记录位置" : "已离岗：停止记录位置"); })
      .catch(function (err) { W.toast(err.status ? err.message : "离线：在岗状态将在联网后同步", !!err.status); });
  }

  function loadDuty() {
    setDuty(load(KEYS.duty, false), true);  // as last known: offline, the phone's own word stands
    if (!WORKER || !navigator.onLine) { return; }
    GG.api("/api/workers/" + WORKER).then(function (w) { setDuty(w.on_duty, true); }).catch(function () {});
  }

  // ---- visits (入户走访)
  function visits() { return load(KEYS.visits, []); }
  function saveVisits(q) { save(KEYS.visits, q); renderVisits(); }
  function updateVisit(key, change) {
    saveVisits(visits().map(function (v) { return v.key === key ? Object.assign(v, change) : v; }));
  }

  function submitVisit(ev) {
    ev.preventDefault();
    var form = ev.target;
    var pos = W.position();
    W.readPhoto(form.photo.files[0]).then(function (photo) {
      var body = { client_key: W.uuid(), at: new Date().toISOString(), address: form.address.value.trim(),
        household: form.household.value.trim(), note: form.note.value.trim(), crs: "wgs84" };
      if (!body.address && !body.household && !body.note) { throw new Error("请至少填写地址、户主或走访情况之一"); }
      if (pos) { body.lon = pos.lon; body.lat = pos.lat; body.accuracy_m = pos.accuracy; }
      var q = visits();
      q.push({ key: body.client_key, body: body, photo: photo, visitId: null });
      try { saveVisits(q); } catch (e) { q[q.length - 1].photo = null; saveVisits(q); W.toast("存储空间不足，照片未保存"); }
      keep(pos, "visit");
      form.reset();
      W.toast(navigator.onLine ? "正在发送走访记录…" : "离线：走访已保存，联网后自动发送");
      return W.flush();
    }).catch(function (err) { W.toast(err.message, true); });
  }

  function sendVisit(v) {
    var step = v.visitId ? Promise.resolve(v.visitId) : GG.api("/api/visits", { method: "POST", body: v.body }).then(function (r) {
      updateVisit(v.key, { visitId: r.id });
      return r.id;
    });
    return step.then(function (id) {
      if (!v.photo) { return null; }
      var form = new FormData();
      form.append("photo", W.dataUrlToBlob(v.photo), "visit.jpg");
      return GG.api("/api/visits/" + id + "/photo", { method: "POST", body: form });
    }).then(function () {
      saveVisits(visits().filter(function (x) { return x.key !== v.key; }));
      W.toast("走访已送达：" + (v.body.address || v.body.household || ""));
      return true;
    }).catch(function (err) {
      if (!err.status || err.status >= 500 || err.status === 408 || err.status === 429) { return false; }
      updateVisit(v.key, { rejected: true, lastError: err.message });
      return true;
    });
  }

  function sendVisits() {
    if (!navigator.onLine) { return Promise.resolve(); }
    var chain = Promise.resolve(true);
    visits().filter(function (v) { return !v.rejected; }).forEach(function (v) {
      chain = chain.then(function (go) { return go ? sendVisit(v) : false; });
    });
    return chain;
  }

  function renderVisits() {
    var q = visits();
    document.getElementById("gw-v-count").textContent = String(q.length);
    var list = document.getElementById("gw-v-queue");
    list.innerHTML = "";
    q.forEach(function (v) {
      var el = W.li((v.body.address || v.body.household || "走访") + " · " + GG.fmtTime(v.body.at, { style: "time" }) +
        (v.photo ? " · 含照片" : "") + (v.lastError ? " — " + v.lastError : ""), "gw-queued" + (v.rejected ? " gw-rejected" : ""));
      el.dataset.key = v.key;
      if (v.rejected) {
        var drop = document.createElement("button");
        drop.type = "button"; drop.className = "gw-small"; drop.textContent = "删除";
        drop.addEventListener("click", function () { saveVisits(visits().filter(function (x) { return x.key !== v.key; })); });
        el.appendChild(drop);
      }
      list.appendChild(el);
    });
  }

  // ---- offline: the service worker, and the basemap tiles of the worker's own grids
  // What the page reads at start, as it asks for it: the service worker keeps a copy for the next time
  // the page opens without signal (a first visit read them before the service worker was there).
  var READS = ["/api/me/tasks", "/api/categories", "/ogc/collections/grids/items?limit=10000"];

  function registerWorker() {
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.register(new URL("sw.js", location.href).href).catch(function () {});
    navigator.serviceWorker.ready.then(function (reg) {
      if (navigator.onLine && reg.active) {
        reg.active.postMessage({ type: "warm", urls: READS.map(function (u) { return new URL(GG.url(u), location.href).href; }) });
      }
    });
  }

  function tileUrls(bounds, template) {
    var urls = [];
    for (var z = 12; z <= 16 && urls.length < 400; z++) {
      var n = Math.pow(2, z);
      var x0 = Math.floor((bounds.getWest() + 180) / 360 * n), x1 = Math.floor((bounds.getEast() + 180) / 360 * n);
      var y = function (lat) { var r = lat * Math.PI / 180; return Math.floor((1 - Math.asinh(Math.tan(r)) / Math.PI) / 2 * n); };
      for (var x = x0; x <= x1; x++) {
        for (var t = y(bounds.getNorth()); t <= y(bounds.getSouth()); t++) {
          urls.push(template.replace("{z}", z).replace("{x}", x).replace("{y}", t));
        }
      }
    }
    return urls.slice(0, 400);
  }

  function prefetchTiles() {
    var template = root.getAttribute("data-basemap");
    var bounds = W.gridBounds();
    if (!template || !bounds || !bounds.isValid() || !navigator.serviceWorker) { return; }
    navigator.serviceWorker.ready.then(function (reg) {
      reg.active.postMessage({ type: "prefetch", urls: tileUrls(bounds, template).map(function (u) { return new URL(u, location.href).href; }) });
    });
  }

  /** Logging out: nothing of this worker stays on the phone (what is unsent would be sent as the next
   * account). With records still waiting, the worker is asked first; "no" keeps them and stays in. */
  function forget(e) {
    var waiting = waitingFixes() + visits().length + W.queue().length;
    if (waiting && !window.confirm("还有 " + waiting + " 条记录未发送，退出将删除它们。确定退出？")) {
      e.preventDefault();
      e.stopImmediatePropagation();
      return;
    }
    Object.keys(KEYS).forEach(function (k) { localStorage.removeItem(KEYS[k]); });
    localStorage.removeItem("gridgov.worker.queue.v1");
    localStorage.removeItem("gridgov.worker.tasks.v1");
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "forget" });
    }
  }

  function init() {
    document.getElementById("gw-duty").addEventListener("change", function (e) { setDuty(e.target.checked); });
    document.getElementById("gw-visit-form").addEventListener("submit", submitVisit);
    var out = document.getElementById("gg-logout");
    if (out) { out.addEventListener("click", forget, true); }  // capture: before the shell logs out
    W.onPosition(function (what, pos) {
      if (what === "gps") { state.gpsAt = Date.now(); keep(pos); }
      if (what === "report") { keep(pos, "report"); }
      if (what === "grids") { prefetchTiles(); }
    });
    W.onFlush(function () { return Promise.all([sendVisits(), sendFixes()]); });
    setInterval(function () {  // standing still leaves a fix now and then, from a recent reading only
      if (state.gpsAt && Date.now() - state.gpsAt < EVERY_MS) { keep(W.position()); }
    }, MIN_MS);
    renderVisits();
    loadDuty();
    registerWorker();
    W.flush();
  }

  window.GridWorkerField = { fixes: function () { return load(KEYS.fixes, []); }, batches: function () { return load(KEYS.batches, []); },
    visits: visits, waiting: waitingFixes, setDuty: setDuty, send: sendFixes };
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
