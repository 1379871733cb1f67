/* Planner's view: pick a map layer and its filters; the map is the app's Folium page in an iframe
 * (maps/heatmap, maps/heatmap-time, maps/hotspots, maps/emerging, maps/risk), so the heat and
 * time-slider plugins come vendored with it and nothing loads from outside. The export links export
 * what the map shows: the cases of the heatmap with its kind, category and days, or the analysis on
 * screen (hot spots, emerging hot spots, risk grades), as GeoJSON, GeoPackage, CSV or XLSX; the period
 * reports open as HTML or PDF. Every URL is the app's (GG.url), so the page works under a base path.
 */
(function () {
  "use strict";

  var KIND_OF = { disputes: "dispute", hazards: "hazard", appeals: "appeal" };
  var FILTERED = { heatmap: true, "heatmap-time": true }; // only the heatmaps take kind/date/category
  // What each map exports: the analysis layer itself (geo.io.export), never something else.
  var EXPORTS = { hotspots: ["hotspots", "layer.hotspots"], emerging: ["emerging", "layer.emerging"], risk: ["risk", "layer.risk_export"] };
  var REPORTS = ["daily", "weekly", "monthly", "quarterly"];
  var categories = [];

  function $(id) { return document.getElementById(id); }
  function currentLayer() { return document.querySelector("input[name=layer]:checked").value; }

  // The heatmap's filters as query parameters (empty values left out): kind, from, to, category.
  function filters(kindKey) {
    var q = new URLSearchParams();
    if (kindKey) q.set(kindKey, $("pl-kind").value);
    if ($("pl-from").value) { q.set("from", $("pl-from").value); }
    if ($("pl-to").value) { q.set("to", $("pl-to").value); }
    if ($("pl-category").value) { q.set("category", $("pl-category").value); }
    return q.toString();
  }

  function mapUrl() {
    var layer = currentLayer();
    return GG.url("maps/" + layer) + (FILTERED[layer] ? "?" + filters("layer") : "");
  }

  // The layer the export links download, and the query that narrows it as the map is narrowed.
  function exportTarget() {
    var layer = currentLayer();
    if (FILTERED[layer]) return { name: $("pl-kind").value, query: filters(null), label: GG.label("kind", KIND_OF[$("pl-kind").value]) };
    return { name: EXPORTS[layer][0], query: "", label: GG.t(EXPORTS[layer][1]) };
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
    var target = exportTarget();
    $("pl-export-name").textContent = GG.t("planner.export_layer", { name: target.label });
    Array.prototype.forEach.call(document.querySelectorAll("#pl-export a"), function (a) {
      a.href = GG.url("api/exports/" + target.name + "." + a.dataset.format) + (target.query ? "?" + target.query : "");
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
    all.textContent = GG.t("planner.all_categories");
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
    table.innerHTML = "";
    REPORTS.forEach(function (r) {
      var tr = document.createElement("tr");
      var base = GG.url("api/reports/" + r);
      tr.innerHTML = "<td>" + GG.esc(GG.t("report." + r)) + "</td>" +
        '<td><a target="_blank" rel="noopener" href="' + base + '?format=html">' + GG.esc(GG.t("planner.html")) + "</a></td>" +
        '<td><a href="' + base + '?format=pdf" download>' + GG.esc(GG.t("planner.pdf")) + "</a></td>";
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
    document.addEventListener("gg:lang", function () { fillReports(); fillCategories(); updateExport(); });
    GG.loadCategories().then(function (rows) { categories = rows; fillCategories(); }).catch(GG.fail);
    refresh();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
