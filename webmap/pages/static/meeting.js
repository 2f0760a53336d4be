/* The joint meetings' pages: prepare a meeting (POST /api/v1/meetings), record the minutes
   (POST /api/v1/meetings/{id}/record) and mark an action done
   (POST /api/v1/meetings/actions/{id}/done), as any client of the API would. Errors are shown
   in the page's words (cfg.errors by the API's code); data only ever goes in as textContent. */
(function () {
  "use strict";
  var S = window.Shudi, cfg = S.cfg, t = S.t;
  var JSON_POST = { "Content-Type": "application/json" };

  function post(url, body) {
    return S.fetchJSON(url, { method: "POST", headers: JSON_POST, body: JSON.stringify(body) });
  }
  function say(box, text) {
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
  }

  /* --- prepare this month's meeting / call an extraordinary one -------------------------- */
  document.querySelectorAll("form.meeting-prepare").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var box = document.getElementById("prepare-error");
      var town = form.elements.town ? form.elements.town.value : "";
      var body = { town: town, kind: form.getAttribute("data-kind") };
      if (form.getAttribute("data-month")) body.month = form.getAttribute("data-month");
      if (!town) return say(box, t("town_needed"));
      if (body.kind === "extraordinary") {
        body.topic = form.elements.topic.value.trim();
        if (!body.topic) return say(box, t("topic_needed"));
      }
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      post("/api/v1/meetings", body).then(function (r) {
        if (r.ok) { location.href = "/meetings/" + r.data.id; return; }
        button.disabled = false;
        if (r.data && r.data.code === "meeting_already_held" && r.data.meeting_id) {
          say(box, S.errorText(r.data));
          box.appendChild(document.createTextNode(" "));
          box.appendChild(S.el("a", { href: "/meetings/" + r.data.meeting_id, text: "查看本月例会" }));
          return;
        }
        say(box, S.errorText(r.data));
      });
    });
  });

  /* --- an action done (the meeting page and the work list) ------------------------------- */
  document.querySelectorAll("button.action-done").forEach(function (button) {
    button.addEventListener("click", function () {
      var box = document.getElementById("action-error");
      button.disabled = true;
      post("/api/v1/meetings/actions/" + button.getAttribute("data-action-id") + "/done", {})
        .then(function (r) {
          if (r.ok) { location.reload(); return; }
          button.disabled = false;
          say(box, S.errorText(r.data));
        });
    });
  });

  /* --- the minutes form ------------------------------------------------------------------- */
  var form = document.getElementById("minutes-form");
  if (!form) return;

  function fromTemplate(id) {
    return document.getElementById(id).content.firstElementChild.cloneNode(true);
  }
  function removable(row) {
    row.querySelector("button.remove").addEventListener("click", function () {
      var list = row.parentNode;
      row.remove();
      var first = list && list.querySelector("input,select");
      if (first) first.focus();
    });
    return row;
  }

  /* The unit picker follows the party: the town's units of that party, or typed in. */
  function fillUnits(row) {
    var party = row.querySelector("select[name=party]").value;
    var units = (cfg.parties || {})[party] || [];
    var pick = row.querySelector("select[name=unit]");
    S.clear(pick);
    units.forEach(function (u) { pick.appendChild(S.el("option", { value: u, text: u })); });
    pick.appendChild(S.el("option", { value: "", text: t("other_unit") }));
    syncUnit(row);
  }
  function syncUnit(row) {
    var pick = row.querySelector("select[name=unit]");
    var typed = row.querySelector(".unit-text");
    var hasUnits = pick.options.length > 1;
    row.querySelector(".unit-pick").hidden = !hasUnits;
    typed.hidden = hasUnits && pick.value !== "";
  }
  function addAttendee() {
    var row = removable(fromTemplate("attendee-row"));
    row.querySelector("select[name=party]").addEventListener("change", function () { fillUnits(row); });
    row.querySelector("select[name=unit]").addEventListener("change", function () { syncUnit(row); });
    document.getElementById("attendee-rows").appendChild(row);
    fillUnits(row);
    return row;
  }
  document.getElementById("add-attendee").addEventListener("click", function () {
    addAttendee().querySelector("select").focus();
  });
  addAttendee();

  form.querySelectorAll(".decision-block").forEach(function (block) {
    block.querySelector("button.add-action").addEventListener("click", function () {
      var row = removable(fromTemplate("action-row"));
      block.querySelector(".action-rows").appendChild(row);
      row.querySelector("input").focus();
    });
  });

  function collect() {
    var attendees = [], decisions = [], problem = "";
    form.querySelectorAll(".attendee-row").forEach(function (row) {
      var pick = row.querySelector("select[name=unit]");
      var unit = (!row.querySelector(".unit-pick").hidden && pick.value) ||
        row.querySelector("input[name=unit_text]").value.trim();
      var name = row.querySelector("input[name=name]").value.trim();
      if (!unit && !name) return;
      if (!unit) { problem = "每位参会人员须填写单位。"; return; }
      attendees.push({ party: row.querySelector("select[name=party]").value, unit: unit, name: name });
    });
    if (!attendees.length && !problem) problem = "请至少填写一位参会人员。";
    form.querySelectorAll(".decision-block").forEach(function (block) {
      var text = block.querySelector("textarea[name=decision]").value.trim();
      var actions = [];
      block.querySelectorAll(".action-row").forEach(function (row) {
        var title = row.querySelector("input[name=title]").value.trim();
        var owner = row.querySelector("select[name=owner]").value.split("|");
        var due = row.querySelector("input[name=due_on]").value;
        if (!title && !due && !owner[0]) return;
        if (!title || !owner[0] || !due) { problem = "每个决定事项须填写事项、责任单位和完成期限。"; return; }
        var action = { title: title, owner_kind: owner[0], owner_code: owner[1], due_on: due };
        if (owner[0] === "agency_unit") action.owner_agency = owner[2];
        actions.push(action);
      });
      if (!text && actions.length) problem = "有决定事项的议题须填写决定。";
      if (text) {
        decisions.push({ item_id: Number(block.getAttribute("data-item-id")), decision: text,
          actions: actions });
      }
    });
    var held = form.elements.held_on.value;
    if (!held) problem = "请填写召开日期。";
    return { problem: problem, body: { held_on: held, attendees: attendees, decisions: decisions,
      note: form.elements.note.value.trim() } };
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var box = document.getElementById("minutes-error");
    var got = collect();
    if (got.problem) return say(box, got.problem);
    say(box, "");
    confirmHeld().then(function (ok) { if (ok) send(got.body); });
  });

  /* Held is final (the minutes no longer change): ask first, "cancel" focused. */
  function confirmHeld() {
    return S.confirm({ title: "标记会议已召开？",
      text: "标记后议程和纪要不能再修改，会议决定的事项将派给各责任单位。",
      yes: "确认，标记已召开", no: "再检查一下" });
  }

  function send(body) {
    var box = document.getElementById("minutes-error");
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    button.textContent = t("saving");
    post("/api/v1/meetings/" + cfg.meeting + "/record", body).then(function (r) {
      if (r.ok) { location.reload(); return; }
      button.disabled = false;
      button.textContent = "保存纪要并标记已召开";
      say(box, S.errorText(r.data));
    });
  }
})();
