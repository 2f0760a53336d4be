/* /cases/{id}: the handler's before/after photos (POST /api/v1/cases/{id}/evidence, multipart)
   and the dispatcher's reveal/withhold of the reporters to the handling unit
   (POST /api/v1/cases/{id}/reporter-disclosure). On success the page reloads to show it. */
(function () {
  "use strict";
  var S = window.Shudi, cfg = S.cfg, t = S.t;

  function say(box, data) {
    data = data || {};
    box.textContent = S.errorText(data);
    box.hidden = false;
  }

  var evidence = document.getElementById("evidence-form");
  if (evidence) {
    evidence.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var box = evidence.querySelector("[data-testid=evidence-error]");
      var files = evidence.querySelector("input[type=file]").files;
      box.hidden = true;
      if (!files.length) return say(box, { code: "missing_field" });
      var body = new FormData();
      body.append("stage", evidence.querySelector("input[name=stage]:checked").value);
      body.append("note", evidence.querySelector("textarea").value.trim());
      Array.prototype.forEach.call(files, function (f) { body.append("photos", f, f.name); });
      var button = evidence.querySelector("button[type=submit]");
      button.disabled = true;
      button.textContent = t("uploading");
      S.fetchJSON(cfg.evidence, { method: "POST", body: body }).then(function (r) {
        if (r.ok) return location.reload();
        button.disabled = false;
        button.textContent = t("upload");
        say(box, r.data);
      });
    });
  }

  var disclosure = document.getElementById("disclosure-form");
  if (disclosure) {
    disclosure.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var box = disclosure.querySelector("[data-testid=disclosure-error]");
      var note = disclosure.querySelector("textarea").value.trim();
      box.hidden = true;
      if (!note) return say(box, { code: "missing_field" });
      var button = disclosure.querySelector("button[type=submit]");
      button.disabled = true;
      S.fetchJSON(cfg.disclosure, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ reveal: disclosure.getAttribute("data-reveal") === "true", note: note }),
      }).then(function (r) {
        if (r.ok) return location.reload();
        button.disabled = false;
        say(box, r.data);
      });
    });
  }
})();
