/* 三色三单: every small grid in its stored colour (the risk layer, as graded by the risk job), and the
 * red and yellow grids in a table with their three lists: problems (open cases), responsibility (who
 * answers for the grid) and tasks. Filters (grade, township) narrow the table, the map's highlight and
 * the XLSX export alike, so the download holds what the page shows.
 */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var esc = GG.esc;
  var state = { lists: null, byCode: {}, layer: null, selected: null };
  var map = GG.makeMap("map");
  map.createPane("outline").style.zIndex = 420;

  function query() {
    var q = new URLSearchParams();
    q.set("grade", $("rk-grade").value);
    if ($("rk-township").value) q.set("township", $("rk-township").value);
    return q.toString();
  }

  function renderCounts(lists) {
    Object.keys(lists.counts).forEach(function (g) {
      var el = document.querySelector('[data-count="' + g + '"]');
      if (el) el.textContent = GG.fmtNumber(lists.counts[g]);
    });
    $("rk-asof").textContent = lists.as_of ? GG.t("risk.as_of", { at: GG.fmtTime(lists.as_of, { zone: true }) }) : GG.t("risk.not_graded");
  }

  function row(g) {
    return '<tr data-code="' + esc(g.code) + '" class="' + (g.code === state.selected ? "sel" : "") + '">' +
      "<td><b>" + esc(g.name) + "</b><br><code>" + esc(g.code) + "</code></td><td>" + esc(g.township || "") + "</td>" +
      '<td><span class="gg-dot" data-color="' + (GG.RISK_COLORS[g.grade] || "#999") + '"></span>' + esc(GG.label("grade", g.grade)) + "</td>" +
      "<td>" + g.score + "</td><td>" + g.open_events + "</td><td>" + g.overdue + "</td><td>" + g.repeat_places + "</td></tr>";
  }

  function renderTable(lists) {
    var body = $("rk-grids").querySelector("tbody");
    body.innerHTML = lists.grids.map(row).join("") || '<tr><td colspan="7" class="gg-muted">' + GG.t("msg.empty") + "</td></tr>";
    GG.paint(body);
  }

  function detail(g) {
    var r = g.responsibility;
    var problems = g.problems.map(function (p) {
      return "<li>#" + p.id + " " + esc(p.category) + " · " + esc(GG.label("severity", p.severity)) + " · " + esc(GG.label("status", p.status)) +
        (p.is_overdue ? ' <span class="gg-badge late">' + GG.t("msg.overdue") + "</span>" : "") + '<br><span class="gg-muted">' + esc(p.title) + "</span></li>";
    }).join("") || '<li class="gg-muted">' + GG.t("msg.empty") + "</li>";
    var duty = [[GG.t("risk.worker"), (r.grid_worker || "—") + (r.worker_phone ? " · " + r.worker_phone : "")], [GG.t("risk.village"), r.village],
      [GG.t("label.township"), r.township], [GG.t("risk.centre"), r.township_centre],
      [GG.t("risk.departments"), r.departments.map(function (d) { return d.name; }).join("、")]];
    return "<h3>" + esc(g.name) + " <code>" + esc(g.code) + "</code></h3>" +
      "<h4>" + GG.t("risk.problems") + '</h4><ul class="gg-list" id="rk-problems">' + problems + "</ul>" +
      "<h4>" + GG.t("risk.responsibility") + '</h4><ul class="gg-list" id="rk-duty">' + duty.map(function (d) {
        return "<li>" + esc(d[0]) + "：" + esc(d[1] || "—") + "</li>";
      }).join("") + "</ul>" +
      "<h4>" + GG.t("risk.tasks") + '</h4><ol id="rk-tasks">' + g.tasks.map(function (t) { return "<li>" + esc(t) + "</li>"; }).join("") + "</ol>";
  }

  function pick(code) {
    state.selected = code;
    var g = state.lists.grids.filter(function (x) { return x.code === code; })[0];
    if (!g) return;
    $("rk-detail").innerHTML = detail(g);
    document.querySelectorAll("#rk-grids tr[data-code]").forEach(function (tr) { tr.classList.toggle("sel", tr.getAttribute("data-code") === code); });
    var lyr = state.byCode[code];
    if (lyr) map.fitBounds(lyr.getBounds(), { maxZoom: 14, padding: [40, 40] });
  }

  /** The grids of the table stand out on the map; the rest stay pale. */
  function highlight() {
    var listed = {};
    state.lists.grids.forEach(function (g) { listed[g.code] = true; });
    Object.keys(state.byCode).forEach(function (code) {
      state.byCode[code].setStyle({ fillOpacity: listed[code] ? 0.75 : 0.12, weight: listed[code] ? 1 : 0.3 });
    });
  }

  function load() {
    $("rk-xlsx").href = GG.url("api/risk/lists.xlsx") + "?" + query();
    return GG.api("api/risk/lists?" + query()).then(function (lists) {
      state.lists = lists;
      renderCounts(lists);
      renderTable(lists);
      if (state.layer) highlight();
      $("rk-detail").innerHTML = '<p class="gg-muted">' + GG.t("risk.pick") + "</p>";
    });
  }

  function legend() {
    $("rk-legend").innerHTML = ["red", "yellow", "green"].map(function (g) {
      return '<span><i class="gg-dot" data-color="' + GG.RISK_COLORS[g] + '"></i>' + esc(GG.label("grade", g)) + "</span>";
    }).join("") + '<span><i class="gg-line" data-border="#3f007d"></i>' + esc(GG.t("layer.townships")) + "</span>";
    GG.paint($("rk-legend"));
    $("rk-legend").querySelectorAll("[data-border]").forEach(function (el) { el.style.borderTopColor = el.getAttribute("data-border"); });
  }

  $("rk-grids").addEventListener("click", function (e) {
    var tr = e.target.closest("tr[data-code]");
    if (tr) pick(tr.getAttribute("data-code"));
  });
  ["rk-grade", "rk-township"].forEach(function (id) { $(id).addEventListener("change", function () { load().catch(GG.fail); }); });
  document.addEventListener("gg:lang", function () { if (state.lists) { renderCounts(state.lists); renderTable(state.lists); } legend(); });

  legend();
  GG.loadFeatures("risk").then(function (fs) {
    state.layer = GG.geoLayer("risk", fs, {
      onEachFeature: function (f, l) {
        state.byCode[f.properties.code] = l;
        l.bindTooltip(esc(f.properties.name) + " · " + esc(GG.label("grade", f.properties.grade)), { sticky: true });
        l.on("click", function () { pick(f.properties.code); });
      },
    }).addTo(map);
    if (fs.length) map.fitBounds(state.layer.getBounds());
    if (state.lists) highlight();
  }).catch(GG.fail);
  GG.outlines(map, {
    villages: false,
    townships: {
      pane: "outline", style: function () { return { color: "#3f007d", weight: 2, fill: false, className: "gg-townships" }; },
      interactive: false,
    },
    select: "rk-township",
  }).catch(GG.fail);
  load().catch(GG.fail);
  window.GGRisk = { state: state, map: map, pick: pick };
})();
