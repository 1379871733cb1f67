/* Planner's view: pick a map layer and its filters; the map is the app's Folium page in an iframe
 * (/maps/heatmap, /maps/heatmap-time, /maps/hotspots, /maps/emerging, /maps/risk), so the heat and
 * time-slider plugins come vendored with it and nothing loads from outside. The export links follow
 * the layer on screen (/api/exports/{layer}.{format}), and the period reports open as HTML or PDF.
 */
(function () {
  "use strict";

  var KIND_OF = { disputes: "dispute", hazards: "hazard", appeals: "appeal" };
  var FILTERED = { heatmap: true, "heatmap-time": true }; // only the heatmaps take kind/date/category
  var GRIDS_NAME = "小网格（边界与编码）";
  var REPORTS = [["daily", "日调度"], ["weekly", "周分析"], ["monthly", "月研判"], ["quarterly", "季考评"]];
  var categories = [];

  // English labels of this view's fixed texts, added to the shell's dictionary (common.js applies them).
  Object.assign(GG.dict.en, {
    "planner.layer": "Layer", "planner.heatmap": "Heatmap", "planner.heatmap_time": "Weekly heatmap (time slider)",
    "planner.hotspots": "Hot spots (Gi*)", "planner.emerging": "Emerging hot spots", "planner.risk": "Risk (three colours)",
    "planner.filters": "Filters", "planner.kind": "Case type", "planner.category": "Category", "planner.from": "From",
    "planner.to": "To", "planner.apply": "Redraw map", "planner.export": "Export this layer", "planner.reports": "Period reports"
  });

  function $(id) { return document.getElementById(id); }
  function currentLayer() { return document.querySelector("input[name=layer]:checked").value; }

  // The query of the heatmap pages: layer, from, to, category (empty values left out).
  function filterQuery() {
    var q = new URLSearchParams();
    q.set("layer", $("pl-kind").value);
    if ($("pl-from").value) { q.set("from", $("pl-from").value); }
    if ($("pl-to").value) { q.set("to", $("pl-to").value); }
    if ($("pl-category").value) { q.set("category", $("pl-category").value); }
    return q.toString();
  }

  function mapUrl() {
    var layer = currentLayer();
    return "/maps/" + layer + (FILTERED[layer] ? "?" + filterQuery() : "");
  }

  // What "the current layer" exports as: the events of the heatmap, else the small grids analysed.
  function exportLayer() {
    return FILTERED[currentLayer()] ? $("pl-kind").value : "grids";
  }

  // Layer changes redraw at once; filter changes wait for 刷新地图, because every heatmap page is a
  // database aggregation and reloading on each keystroke would abort and redo them one after another.
  function refresh() {
    var layer = currentLayer();
    $("pl-filters").hidden = !FILTERED[layer];
    $("pl-time-note").hidden = layer !== "heatmap-time";
    $("pl-frame").src = mapUrl();
    $("pl-apply").classList.remove("pending");
    updateExport();
  }

  function updateExport() {
    var name = exportLayer();
    $("pl-export-name").textContent = "图层：" + (KIND_OF[name] ? GG.label("kind", KIND_OF[name]) : name === "grids" ? GRIDS_NAME : name);
    Array.prototype.forEach.call(document.querySelectorAll("#pl-export a"), function (a) {
      a.href = "/api/exports/" + name + "." + a.dataset.format;
    });
  }

  function filtersChanged() {
    updateExport();
    $("pl-apply").classList.add("pending");
  }

  function fillCategories() {
    var kind = KIND_OF[$("pl-kind").value];
    var select = $("pl-category");
    select.innerHTML = "";
    var all = document.createElement("option");
    all.value = "";
    all.textContent = "全部类别";
    select.appendChild(all);
    categories.filter(function (c) { return c.kind === kind; }).forEach(function (c) {
      var o = document.createElement("option");
      o.value = c.code;
      o.textContent = GG.lang === "en" ? c.label_en : c.label_zh;
      select.appendChild(o);
    });
  }

  function fillReports() {
    var table = $("pl-reports");
    REPORTS.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.innerHTML = "<td>" + GG.esc(r[1]) + "</td>" +
        '<td><a target="_blank" rel="noopener" href="/api/reports/' + r[0] + '?format=html">网页</a></td>' +
        '<td><a href="/api/reports/' + r[0] + '?format=pdf" download>PDF</a></td>';
      table.appendChild(tr);
    });
  }

  function init() {
    fillReports();
    Array.prototype.forEach.call(document.querySelectorAll("input[name=layer]"), function (r) {
      r.addEventListener("change", refresh);
    });
    $("pl-kind").addEventListener("change", function () { fillCategories(); filtersChanged(); });
    ["pl-category", "pl-from", "pl-to"].forEach(function (id) { $(id).addEventListener("change", filtersChanged); });
    $("pl-apply").addEventListener("click", refresh);
    GG.api("/api/categories").then(function (rows) { categories = rows; fillCategories(); }).catch(GG.fail);
    refresh();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
