/* Grid worker's phone view: report a case where the worker stands, even without signal.
 *
 * Every report is written to a queue in localStorage BEFORE anything is sent, with an Idempotency-Key
 * made on the phone (crypto.randomUUID). The queue is flushed on load, on the browser's 'online' event
 * and on a timer; a resend carries the same key, so the server stores the case exactly once even when
 * an answer was lost on the way back. A photo travels after its case, with its own key, for the same
 * reason. Coordinates are WGS84 (navigator.geolocation and the map both give WGS84 lon/lat).
 *
 * Requests go through the console's one client, GG.api (common.js); labels come from the vocabulary
 * embedded in the page (GG.label) and times from GG.fmtTime, in the county's zone, as on every desk.
 *
 * This file holds the shell of the page (tabs, the map and the position, the network state) and the
 * report queue; worker_field.js sends positions and visits, worker_tasks.js shows and works the tasks.
 * They meet on window.GridWorker: position(), onPosition(fn), onFlush(fn), toast(), uuid(), readPhoto().
 */
(function () {
  "use strict";

  var QUEUE_KEY = "gridgov.worker.queue.v1";
  var CATEGORIES_KEY = "gridgov.categories.v1";
  var RETRY_MS = 15000;
  var PHOTO_MAX_SIDE = 1600; // phone photos are shrunk before queueing: localStorage holds ~5 MB in all
  var state = { categories: [], position: null, marker: null, map: null, flushing: false, again: false, listeners: [], flushers: [] };

  // English labels of this view's fixed texts, added to the shell's dictionary (common.js applies them;
  // Chinese stays the default and the fallback).
  if (window.GG && GG.dict) {
    Object.assign(GG.dict.en, {
      "worker.tab_report": "Report", "worker.tab_tasks": "My tasks", "worker.pos_none": "No position yet",
      "worker.locate": "Locate again", "worker.category": "Category", "worker.severity": "Severity",
      "worker.title": "Title", "worker.description": "Description", "worker.photo": "Photo (optional)",
      "worker.submit": "Report", "worker.queue": "Waiting to send"
    });
  }

  // ---- the queue (localStorage: survives a closed tab and a phone restart)
  function loadQueue() {
    try { return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); } catch (e) { return []; }
  }
  function saveQueue(q) {
    localStorage.setItem(QUEUE_KEY, JSON.stringify(q));
    renderQueue(q);
  }
  function updateItem(key, change) {
    var q = loadQueue();
    q.forEach(function (it) { if (it.key === key) { Object.assign(it, change); } });
    saveQueue(q);
  }
  function removeItem(key) {
    saveQueue(loadQueue().filter(function (it) { return it.key !== key; }));
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    // crypto.randomUUID needs a secure context; plain-http intranet pages fall back to getRandomValues
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // Send what is queued, oldest first; stop at the first network failure (the rest would fail too).
  // The sender is GG.api with the item's Idempotency-Key; a failure without .status is the network's.
  // A flush asked for while one runs is run once more after it (what was queued meanwhile goes too).
  function flush() {
    if (!navigator.onLine) { renderNet(); return Promise.resolve(); }
    if (state.flushing) { state.again = true; return state.flushing; }
    var items = loadQueue().filter(function (it) { return !it.rejected; });
    var chain = Promise.resolve(true);
    items.forEach(function (it) {
      chain = chain.then(function (go) { return go ? sendItem(it) : false; });
    });
    state.flushing = chain.then(function () {
      renderNet();
      return Promise.all(state.flushers.map(function (fn) { return fn(); }));
    }).catch(function () {}).then(function () {
      state.flushing = false;
      if (state.again) { state.again = false; return flush(); }
    });
    return state.flushing;
  }

  function sendItem(it) {
    var step = it.eventId ? Promise.resolve(it.eventId) :
      GG.api("/api/events", { method: "POST", body: it.body, headers: { "Idempotency-Key": it.key } }).then(function (ev) {
        updateItem(it.key, { eventId: ev.id });
        return ev.id;
      });
    return step.then(function (eventId) {
      if (!it.photo) { return null; }
      var form = new FormData();
      form.append("photo", dataUrlToBlob(it.photo), "photo.jpg");
      return GG.api("/api/events/" + eventId + "/photos",
        { method: "POST", body: form, headers: { "Idempotency-Key": it.key + "-photo" } });
    }).then(function () {
      removeItem(it.key);
      toast("已送达：" + (it.body.title || categoryLabel(it.body.category)));
      return true;
    }).catch(function (err) {
      if (!err.status || err.status >= 500 || err.status === 408 || err.status === 429) {
        updateItem(it.key, { lastError: "网络不可用，稍后自动重发" });
        return false; // offline or server busy: keep it, retry later with the same key
      }
      // The server refused it (outside the area, bad input): resending cannot help; show why.
      updateItem(it.key, { rejected: true, lastError: err.message });
      return true;
    });
  }

  function dataUrlToBlob(url) {
    var parts = url.split(",");
    var type = parts[0].replace(/^data:/, "").replace(/;base64$/, "");
    var bin = atob(parts[1]);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    return new Blob([bytes], { type: type });
  }

  // Shrink a chosen photo to a JPEG of at most PHOTO_MAX_SIDE px, as a data: URL that fits the queue.
  function readPhoto(file) {
    if (!file) { return Promise.resolve(null); }
    if (!/^image\/(jpeg|png)$/.test(file.type)) { return Promise.reject(new Error("照片只能是 JPEG 或 PNG")); }
    return new Promise(function (resolve, reject) {
      var img = new Image();
      var src = URL.createObjectURL(file);
      img.onload = function () {
        var scale = Math.min(1, PHOTO_MAX_SIDE / Math.max(img.width, img.height));
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(img.width * scale);
        canvas.height = Math.round(img.height * scale);
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(src);
        resolve(canvas.toDataURL("image/jpeg", 0.8));
      };
      img.onerror = function () { URL.revokeObjectURL(src); reject(new Error("无法读取照片")); };
      img.src = src;
    });
  }

  // ---- the report form
  function categoryLabel(code) {
    var c = state.categories.filter(function (x) { return x.code === code; })[0];
    return c ? c.label_zh : code;
  }

  function fillCategories() {
    var kind = document.querySelector("input[name=kind]:checked").value;
    var select = document.getElementById("gw-category");
    select.innerHTML = "";
    state.categories.filter(function (c) { return c.kind === kind; }).forEach(function (c) {
      var opt = document.createElement("option");
      opt.value = c.code;
      opt.textContent = c.label_zh;
      select.appendChild(opt);
    });
  }

  function submitReport(ev) {
    ev.preventDefault();
    if (!state.position) { toast("请先定位，或在地图上点选位置"); return; }
    var form = ev.target;
    var button = document.getElementById("gw-submit");
    button.disabled = true;
    readPhoto(form.photo.files[0]).then(function (photo) {
      var item = {
        key: uuid(),
        createdAt: new Date().toISOString(),
        body: {
          kind: form.kind.value,
          category: form.category.value,
          severity: Number(form.severity.value),
          title: form.title.value.trim(),
          description: form.description.value.trim(),
          source: "patrol",
          lon: state.position.lon,
          lat: state.position.lat,
          crs: "wgs84",
          reported_at: new Date().toISOString() // when it happened, not when the signal came back
        },
        photo: photo,
        eventId: null
      };
      var q = loadQueue();
      q.push(item);
      try {
        saveQueue(q);
      } catch (e) { // quota: the photo is what is big; keep the report without it
        item.photo = null;
        saveQueue(q);
        toast("存储空间不足，照片未保存");
      }
      form.reset();
      fillCategories();
      notify("report");
      toast(navigator.onLine ? "正在发送…" : "离线：已保存，联网后自动发送");
      return flush();
    }).catch(function (err) { toast(err.message); })
      .then(function () { button.disabled = false; });
  }

  // ---- position: the phone's GPS, or a point picked on the map
  function setPosition(lon, lat, how, accuracy) {
    state.position = { lon: Math.round(lon * 1e6) / 1e6, lat: Math.round(lat * 1e6) / 1e6,
      accuracy: accuracy === undefined ? null : accuracy, picked: how === "地图选点" };
    var text = how + "：" + state.position.lon.toFixed(5) + ", " + state.position.lat.toFixed(5) + "（WGS84）";
    document.getElementById("gw-pos-text").textContent = text;
    if (!state.map) { return; }
    var ll = [state.position.lat, state.position.lon]; // Leaflet wants [lat, lon]
    if (state.marker) { state.marker.setLatLng(ll); } else {
      state.marker = L.circleMarker(ll, { radius: 8, color: "#b30000", fillOpacity: 0.8 }).addTo(state.map);
    }
    state.map.setView(ll, Math.max(state.map.getZoom(), 14));
  }

  /** Tell the listeners (worker_field.js) what happened: "gps" (a new fix), "report" (a report was made). */
  function notify(what) {
    state.listeners.forEach(function (fn) { fn(what, state.position); });
  }

  function locate() {
    if (!navigator.geolocation) { toast("此设备不支持定位，请在地图上点选"); return; }
    navigator.geolocation.getCurrentPosition(function (p) {
      setPosition(p.coords.longitude, p.coords.latitude, "当前位置", p.coords.accuracy);
      notify("gps");
    }, function () {
      toast("无法定位，请在地图上点选位置");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  // A small map without basemap (common.js: nothing leaves the intranet), the worker's grids as outline.
  function initMap() {
    if (!window.L || !window.GG) { return; }
    state.map = GG.makeMap("gw-map");
    var basemap = document.getElementById("gw").getAttribute("data-basemap");
    if (basemap) { L.tileLayer(basemap, { maxZoom: 18, className: "gw-basemap" }).addTo(state.map); }
    state.map.on("click", function (e) { setPosition(e.latlng.lng, e.latlng.lat, "地图选点"); });
    GG.loadFeatures("grids").then(function (features) {
      var layer = GG.geoLayer("grids", features, {
        style: { className: "gg-grids", color: "#6a51a3", weight: 1.5, fillOpacity: 0.06 }, // bolder on a small screen
        onEachFeature: function (f, l) {
          l.bindTooltip(f.properties.name || "");
          l.on("click", function (e) { setPosition(e.latlng.lng, e.latlng.lat, "地图选点"); });
        }
      }).addTo(state.map);
      if (state.position) { state.map.setView([state.position.lat, state.position.lon], 14); }
      else if (layer.getBounds().isValid()) { state.map.fitBounds(layer.getBounds()); }
      state.gridBounds = layer.getBounds();
      notify("grids");
    }).catch(function () { /* offline: the map stays empty, GPS still works */ });
  }

  // ---- rendering helpers
  function li(text, cls) {
    var el = document.createElement("li");
    el.textContent = text;
    if (cls) { el.className = cls; }
    return el;
  }

  function renderQueue(q) {
    q = q || loadQueue();
    document.getElementById("gw-queue-count").textContent = String(q.length);
    var list = document.getElementById("gw-queue");
    list.innerHTML = "";
    q.forEach(function (it) {
      var el = li(categoryLabel(it.body.category) + " · " + GG.fmtTime(it.createdAt, { style: "time" }) +
        (it.photo ? " · 含照片" : "") + (it.lastError ? " — " + it.lastError : ""),
        "gw-queued" + (it.rejected ? " gw-rejected" : ""));
      el.dataset.key = it.key;
      if (it.rejected) { // a refused report stays until the worker drops it, so nothing vanishes silently
        var drop = document.createElement("button");
        drop.type = "button";
        drop.className = "gw-small";
        drop.textContent = "删除";
        drop.addEventListener("click", function () { removeItem(it.key); });
        el.appendChild(drop);
      }
      list.appendChild(el);
    });
  }

  function renderNet() {
    var el = document.getElementById("gw-net");
    var n = loadQueue().length;
    el.className = "gw-net " + (navigator.onLine ? "online" : "offline");
    el.textContent = (navigator.onLine ? "在线" : "离线") + (n ? " · " + n + " 条待发送" : "");
  }

  function toast(text, isError) { GG.toast(text, isError); }

  function initTabs() {
    Array.prototype.forEach.call(document.querySelectorAll(".gw-tab"), function (tab) {
      tab.addEventListener("click", function () {
        Array.prototype.forEach.call(document.querySelectorAll(".gw-tab"), function (t) { t.classList.toggle("active", t === tab); });
        Array.prototype.forEach.call(document.querySelectorAll(".gw-panel"), function (p) {
          p.classList.toggle("active", p.dataset.panel === tab.dataset.tab);
        });
        document.getElementById("gw").setAttribute("data-tab", tab.dataset.tab);
        document.dispatchEvent(new CustomEvent("gw:tab", { detail: tab.dataset.tab }));
        if (tab.dataset.tab !== "tasks" && state.map) { state.map.invalidateSize(); }
      });
    });
  }

  function init() {
    initTabs();
    initMap();
    renderQueue();
    renderNet();
    Array.prototype.forEach.call(document.querySelectorAll("input[name=kind]"), function (r) {
      r.addEventListener("change", fillCategories);
    });
    document.getElementById("gw-form").addEventListener("submit", submitReport);
    document.getElementById("gw-locate").addEventListener("click", locate);
    window.addEventListener("online", flush);
    window.addEventListener("offline", renderNet);
    setInterval(flush, RETRY_MS);
    // Categories are cached so that a page reopened without signal can still fill the form.
    try { state.categories = JSON.parse(localStorage.getItem(CATEGORIES_KEY) || "[]"); } catch (e) { state.categories = []; }
    fillCategories();
    GG.api("/api/categories").then(function (rows) {
      state.categories = rows;
      localStorage.setItem(CATEGORIES_KEY, JSON.stringify(rows));
      fillCategories();
      renderQueue();
    }).catch(function () { if (!state.categories.length) { toast("类别加载失败，请联网后刷新"); } });
    locate();
    flush();
  }

  // Shared with worker_field.js and worker_tasks.js, and used by tests: the queue and a manual flush.
  window.GridWorker = {
    queue: loadQueue, flush: flush, toast: toast, uuid: uuid, readPhoto: readPhoto, li: li,
    dataUrlToBlob: dataUrlToBlob, map: function () { return state.map; }, gridBounds: function () { return state.gridBounds; },
    position: function () { return state.position; }, setPosition: setPosition, notify: notify,
    onPosition: function (fn) { state.listeners.push(fn); }, onFlush: function (fn) { state.flushers.push(fn); },
  };
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
