/* 积案与重复纠纷: chronic disputes, at one place or between the same parties, each with its cases as the
 * evidence, and the backlog (cases open longer than GRID_ANALYTICS_BACKLOG_DAYS). A map shows where, a
 * table lists them; the filters (basis, township) narrow both and the XLSX export alike.
 */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var esc = GG.esc;
  var state = { tab: "chronic", rows: [], layer: null, selected: null, rule: null, days: null };
  var map = GG.makeMap("map");
  map.createPane("points").style.zIndex = 450;

  function query(withBasis) {
    var q = new URLSearchParams();
    if (withBasis) q.set("basis", $("ch-basis").value);
    if ($("ch-township").value) q.set("township", $("ch-township").value);
    return q.toString();
  }
  function day(iso) { return GG.fmtTime(iso, { style: "date" }); }

  var HEAD = {
    chronic: ["chronic.basis", "label.case", "chronic.cases", "chronic.open", "chronic.first", "chronic.last", "chronic.span"],
    backlog: ["label.case", "label.grid", "label.reported_at", "chronic.open_days", "label.deadline"],
  };

  function what(g) {
    return g.basis === "place" ? esc(g.category) : esc(GG.t("chronic.who")) + " " + esc(g.party) +
      ' <span class="gg-muted">' + GG.t(g.matched_on === "id_number" ? "chronic.by_id" : "chronic.by_name_phone") + "</span>";
  }

  var ROWS = {
    chronic: function (g, i) {
      return '<tr data-row="' + i + '"><td>' + GG.t(g.basis === "place" ? "chronic.place" : "chronic.parties") + "</td><td>" + what(g) + "</td><td>" +
        g.cases + "</td><td>" + g.open_cases + "</td><td>" + day(g.first_at) + "</td><td>" + day(g.last_at) + "</td><td>" +
        GG.t("chronic.days", { n: g.span_days }) + "</td></tr>";
    },
    backlog: function (c, i) {
      return '<tr data-row="' + i + '"><td>#' + c.id + " " + esc(c.category_label) + " · " + esc(GG.label("status", c.status)) +
        (c.overdue ? ' <span class="gg-badge late">' + GG.t("msg.overdue") + "</span>" : "") + '<br><span class="gg-muted">' + esc(c.title) +
        "</span></td><td><code>" + GG.fmtCode(c.grid_code) + "</code></td><td>" + day(c.reported_at) + "</td><td>" +
        GG.t("chronic.days", { n: c.open_days }) + "</td><td>" + (c.deadline_at ? day(c.deadline_at) : "—") + "</td></tr>";
    },
  };

  function renderTable() {
    $("ch-table").querySelector("thead").innerHTML = "<tr>" + HEAD[state.tab].map(function (k) { return "<th>" + esc(GG.t(k)) + "</th>"; }).join("") + "</tr>";
    $("ch-table").querySelector("tbody").innerHTML = state.rows.map(ROWS[state.tab]).join("") ||
      '<tr><td colspan="7" class="gg-muted">' + GG.t("msg.empty") + "</td></tr>";
    $("ch-detail").innerHTML = "";
  }

  function renderRule() {
    $("ch-rule").textContent = state.tab === "chronic" && state.rule
      ? GG.t("chronic.rule", { metres: state.rule.metres, place: state.rule.place_cases, party: state.rule.party_cases, days: state.rule.min_days })
      : state.days ? GG.t("chronic.backlog_rule", { days: state.days }) : "";
  }

  function draw() {
    if (state.layer) map.removeLayer(state.layer);
    state.layer = L.featureGroup(state.rows.filter(function (r) { return r.lat !== null; }).map(function (r, i) {
      var size = state.tab === "chronic" ? 5 + Math.min(r.cases, 10) : 6;
      return L.circleMarker([r.lat, r.lon], { pane: "points", radius: size, color: "#fff", weight: 1.5,
        fillColor: state.tab === "chronic" ? "#cb181d" : "#6a51a3", fillOpacity: 0.85, className: "gg-" + state.tab })
        .on("click", function () { pick(i); });
    })).addTo(map);
    if (state.layer.getLayers().length) map.fitBounds(state.layer.getBounds(), { padding: [40, 40], maxZoom: 13 });
  }

  /** The evidence of a chronic group (its cases, oldest first), or one long-open case. */
  function pick(i) {
    state.selected = i;
    var r = state.rows[i];
    document.querySelectorAll("#ch-table tr[data-row]").forEach(function (tr) { tr.classList.toggle("sel", Number(tr.getAttribute("data-row")) === i); });
    if (state.tab === "chronic") {
      $("ch-detail").innerHTML = "<h3>" + what(r) + "</h3><h4>" + GG.t("chronic.evidence") + '</h4><ol id="ch-evidence">' + r.history.map(function (c) {
        return "<li>" + day(c.reported_at) + " · #" + c.id + " " + esc(c.category) + " · " + esc(GG.label("status", c.status)) +
          '<br><span class="gg-muted">' + esc(c.title) + " · <code>" + GG.fmtCode(c.grid_code) + "</code></span></li>";
      }).join("") + "</ol>";
    } else {
      $("ch-detail").innerHTML = "<h3>#" + r.id + " " + esc(r.title) + "</h3><p>" + esc(r.category_label) + " · " + esc(GG.label("severity", r.severity)) +
        " · " + GG.t("chronic.open_days", { n: r.open_days }) + "</p>";
    }
    if (r.lat !== null) map.setView([r.lat, r.lon], Math.max(map.getZoom(), 13), { animate: false });
  }

  function load() {
    $("ch-xlsx").href = GG.url("api/chronic.xlsx") + "?" + query(true);
    var ready = state.tab === "chronic"
      ? GG.api("api/chronic?" + query(true)).then(function (r) { state.rule = r.rule; return r.groups; })
      : GG.api("api/backlog?" + query(false)).then(function (r) { state.days = r.days; return r.cases; });
    return ready.then(function (rows) {
      state.rows = rows;
      state.selected = null;
      renderRule();
      renderTable();
      draw();
    });
  }

  $("ch-tabs").addEventListener("click", function (e) {
    var b = e.target.closest("[data-tab]");
    if (!b) return;
    state.tab = b.getAttribute("data-tab");
    document.querySelectorAll("#ch-tabs [data-tab]").forEach(function (x) { x.classList.toggle("on", x === b); });
    $("ch-basis").disabled = state.tab !== "chronic";
    load().catch(GG.fail);
  });
  $("ch-table").addEventListener("click", function (e) {
    var tr = e.target.closest("tr[data-row]");
    if (tr) pick(Number(tr.getAttribute("data-row")));
  });
  ["ch-basis", "ch-township"].forEach(function (id) { $(id).addEventListener("change", function () { load().catch(GG.fail); }); });
  document.addEventListener("gg:lang", function () { renderRule(); renderTable(); });

  GG.outlines(map, { townships: { interactive: false }, select: "ch-township" }).catch(GG.fail);
  load().catch(GG.fail);
  window.GGChronic = { state: state, map: map, pick: pick };
})();
