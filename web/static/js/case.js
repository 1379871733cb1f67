/* A case as the desks show it (dispatcher and department): its facts, its departments' tasks, photos,
 * parties and timeline, each entry said in plain words that name who, which department or court, and
 * what changed. Words from the vocabulary (GG.label) and the messages table (GG.t); times in the
 * county's zone (GG.fmtTime). Everything the server sent is escaped (GG.esc) before it becomes markup.
 */
(function () {
  "use strict";
  var esc = GG.esc;
  var Case = (GG.Case = {});

  function time(iso) { return GG.fmtTime(iso, { style: "short" }); }
  function badge(text, cls) { return '<span class="gg-badge ' + (cls || "") + '">' + esc(text) + "</span>"; }

  /** The case's facts: kind, category, status, grid, severity, level, times, and what holds it up. */
  Case.meta = function (ev) {
    var note = GG.deadlineNote(ev);
    var flags = [];
    if (ev.overdue) flags.push(badge(GG.t("msg.overdue"), "late"));
    if (ev.suspended_at) flags.push(badge(GG.t("msg.suspended"), "held"));
    if (ev.referral_status === "referred") flags.push(badge(GG.t("msg.referred", { to: GG.label("referral", ev.referral) }), "out"));
    return esc(GG.label("kind", ev.kind)) + " · " + esc(GG.catLabel(ev.category)) + " · " +
      '<span class="gg-status" data-status="' + esc(ev.status) + '">' + esc(GG.label("status", ev.status)) + "</span> " + flags.join(" ") + "<br>" +
      GG.t("label.grid") + " <code>" + GG.fmtCode(ev.grid_code) + "</code> · " +
      GG.t("label.severity") + " " + esc(GG.label("severity", ev.severity)) + " · " +
      GG.t("label.level") + " " + esc(GG.label("level", ev.escalation_level)) + "<br>" +
      GG.t("label.reported_at") + " " + GG.fmtTime(ev.reported_at, { zone: true }) +
      " · " + GG.t("label.source") + " " + esc(GG.label("source", ev.source)) +
      (ev.deadline_at ? "<br>" + GG.t("label.deadline") + ' <span class="gg-deadline' + (ev.overdue ? " gg-overdue" : "") + '">' +
        esc(GG.fmtDeadline(ev)) + "</span>" + (note ? ' <span class="gg-provisional">' + esc(note) + "</span>" : "") : "") +
      (ev.handled_by ? "<br>" + GG.t("label.handled_by") + " " + esc(ev.handled_by) : "") +
      (ev.description ? '<br><span class="gg-muted">' + esc(ev.description) + "</span>" : "");
  };

  /* ---------- the timeline, in plain words ---------- */
  function worker(e, key, id) { return e[key] || (id ? GG.t("tl.worker_unknown", { id: id }) : ""); }
  function late(d) { return d.late ? " · " + GG.t("tl.late", { late: GG.fmtDuration(d.late_s) }) : ""; }

  var SAYS = {
    report: function (e, d) { return GG.t("tl.report", { source: GG.label("source", d.source || "patrol") }); },
    assign: function (e, d) { return GG.t("tl.assign", { worker: worker(e, "worker", d.worker_id) }); },
    reassign: function (e, d) {
      return GG.t("tl.reassign", { previous: worker(e, "previous_worker", d.previous_worker_id), worker: worker(e, "worker", d.worker_id) });
    },
    escalate: function (e, d) { return GG.t("tl.escalate", { from: GG.label("level", d.from_level), to: GG.label("level", d.to_level) }); },
    refer: function (e, d) { return GG.t("tl.refer", { to: GG.label("referral", d.to) }) + (d.department ? "（" + d.department + "）" : ""); },
    referral_return: function (e, d) { return GG.t("tl.referral_return", { from: GG.label("referral", d.from) }); },
    whistle: function (e, d) { return GG.t("tl.whistle", { department: d.department, hours: d.hours }); },
    whistle_sign: function (e, d) { return d.department || ""; },
    whistle_response: function (e, d) { return (d.department || "") + late(d); },
    whistle_feedback: function (e, d) { return (d.department || "") + late(d); },
    extend: function (e, d) {
      var by = d.days ? d.days + " " + GG.t("unit.days") : d.hours + " " + GG.t("unit.hours");
      return GG.t("tl.extend", { from: time(d.from_deadline), to: time(d.to_deadline) }) + "（+" + by + "）";
    },
    suspend: function () { return GG.t("tl.suspend"); },
    resume: function () { return GG.t("tl.resume"); },
    mark_duplicate: function (e, d) { return GG.t("tl.duplicate", { id: d.duplicate_of }); },
  };

  /** What a timeline entry says happened, beyond its action's label: who, which department, what changed. */
  Case.describe = function (e) {
    var d = e.data || {};
    var says = SAYS[e.action] ? SAYS[e.action](e, d) : "";
    var moved = "";  // "from → to" for a change of status, "to" for the first entry, nothing when it stayed
    if (e.to_status && e.from_status && e.to_status !== e.from_status) moved = GG.label("status", e.from_status) + " → " + GG.label("status", e.to_status);
    else if (e.to_status && !e.from_status) moved = GG.label("status", e.to_status);
    return [says, moved].filter(Boolean).join(" · ");
  };

  Case.timeline = function (entries) {
    return entries.slice().reverse().map(function (e) {
      return '<li data-action="' + esc(e.action) + '"><b class="gg-action">' + esc(GG.label("action", e.action)) + "</b> " +
        '<span class="gg-says">' + esc(Case.describe(e)) + "</span>" + (e.note ? '<br><span class="gg-note">' + esc(e.note) + "</span>" : "") +
        '<br><span class="gg-muted">' + time(e.at) + " · " + GG.t("tl.by") + " " + esc(e.actor) + "</span></li>";
    }).join("") || '<li class="gg-muted">' + GG.t("msg.empty") + "</li>";
  };

  /* ---------- departments' tasks: every answer and every lateness ---------- */
  function step(label, at, who, text, isLate) {
    if (!at) return "";
    return "<br>" + esc(label) + " " + time(at) + (who ? " · " + esc(who) : "") + (isLate ? " " + badge(GG.t("task.late"), "late") : "") +
      (text ? '<br><span class="gg-note">' + esc(text) + "</span>" : "");
  }

  Case.task = function (t) {
    var limit = t.state === "reported" || t.state === "finished" ? [GG.t("task.finish_by"), t.finish_by, t.feedback_late]
      : [GG.t("task.respond_by"), t.respond_by, t.report_late];
    var pending = t.state !== "finished" && t.state !== "withdrawn";
    return '<li data-task="' + t.id + '" data-state="' + esc(t.state) + '"' + (t.report_late || t.feedback_late ? ' class="late"' : "") + ">" +
      "<b>" + esc(t.department) + "</b> " + badge(GG.label("task_kind", t.kind)) + " " + badge(GG.label("task_state", t.state), "state-" + t.state) +
      step(GG.t("task.requested"), t.requested_at, t.requested_by, t.note, false) +
      (pending ? "<br>" + esc(limit[0]) + " " + time(limit[1]) + (limit[2] ? " " + badge(GG.t("task.late"), "late") : "") : "") +
      step(GG.t("task.signed"), t.signed_at, t.signed_by, "", false) +
      step(GG.t("task.answer"), t.responded_at, t.responded_by, t.response, t.responded_at && t.report_late) +
      step(GG.t("task.feedback"), t.finished_at, t.finished_by, t.feedback, t.finished_at && t.feedback_late) +
      (t.withdrawn_at ? "<br>" + GG.t("task.withdrawn") + " " + time(t.withdrawn_at) : "") + "</li>";
  };

  Case.tasks = function (rows) {
    return rows.map(Case.task).join("") || '<li class="gg-muted">' + GG.t("task.none") + "</li>";
  };

  /* ---------- photos and parties ---------- */
  Case.photos = function (rows) {
    return rows.map(function (p) {
      var src = esc(GG.url(p.url));
      return '<figure data-photo="' + p.id + '"><a href="' + src + '" target="_blank" rel="noopener"><img src="' + src + '" alt="#' + p.id + '"></a>' +
        "<figcaption>" + esc(p.department || p.uploaded_by) + " · " + time(p.at) + "</figcaption></figure>";
    }).join("") || '<p class="gg-muted">' + GG.t("msg.empty") + "</p>";
  };

  /** Parties as the server sent them: masked (张某某, 138****5678) unless the role is cleared. */
  Case.parties = function (rows) {
    return rows.map(function (p) {
      return '<li data-party="' + p.id + '">' + esc(GG.label("party_role", p.role)) + "：<b>" + esc(p.name) + "</b>" +
        (p.phone ? " · " + esc(p.phone) : "") + (p.id_number ? ' <span class="gg-muted">' + esc(p.id_number) + "</span>" : "") + "</li>";
    }).join("") || '<li class="gg-muted">' + GG.t("msg.empty") + "</li>";
  };

  /** Everything of a case the panel shows: {event, timeline, tasks, photos, parties}. */
  Case.load = function (id) {
    var base = "api/events/" + id;
    return Promise.all([GG.api(base), GG.api(base + "/timeline"), GG.api(base + "/whistles"),
      GG.api(base + "/photos"), GG.api(base + "/parties")]).then(function (r) {
      return { event: r[0], timeline: r[1], tasks: r[2], photos: r[3], parties: r[4] };
    });
  };

  /** Draw a loaded case into the elements of `ids` ({meta, timeline, tasks, photos, parties}). */
  Case.render = function (c, ids) {
    var $ = function (id) { return document.getElementById(id); };
    if (ids.meta) $(ids.meta).innerHTML = Case.meta(c.event);
    if (ids.timeline) $(ids.timeline).innerHTML = Case.timeline(c.timeline);
    if (ids.tasks) $(ids.tasks).innerHTML = Case.tasks(c.tasks);
    if (ids.photos) $(ids.photos).innerHTML = Case.photos(c.photos);
    if (ids.parties) $(ids.parties).innerHTML = Case.parties(c.parties);
  };
})();
