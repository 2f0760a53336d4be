/* /track/{code}/survey: the resident's 回访 answer (solved? 1–5, comment), sent once. */
(function () {
  "use strict";
  var S = window.Shudi, cfg = S.cfg;
  var t = function (k) { return cfg.t[k] || k; };
  var form = document.getElementById("survey-form");
  if (!form) return;
  var errorBox = document.getElementById("error");
  var button = form.querySelector("button[type=submit]");
  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var solved = form.querySelector("input[name=resolved]:checked");
    var rating = form.querySelector("input[name=satisfaction]:checked");
    var comment = document.getElementById("survey-comment").value.trim();
    if (!solved) { showError(t("choose_solved")); return; }
    if (solved.value === "no" && !comment) { showError(t("comment_needed")); return; }
    showError("");
    button.disabled = true;
    button.textContent = t("sending");
    fetch("/api/v1/track/" + encodeURIComponent(cfg.code) + "/survey", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({
        resolved: solved.value === "yes",
        satisfaction: rating ? parseInt(rating.value, 10) : null,
        comment: comment,
      }),
    })
      .then(function (r) {
        return r.json().catch(function () { return { code: "unknown" }; }).then(function (data) {
          if (r.ok) { window.location.reload(); return; }
          throw data;
        });
      })
      .catch(function (e) {
        showError(S.errorText(e && e.code ? e : { code: "network" }));
        button.disabled = false;
        button.textContent = t("send");
      });
  });
})();
