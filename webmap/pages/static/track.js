/* /track/{code}: rate or dispute the result, with the tracking code alone. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("shudi-config").textContent);
  var t = function (k) { return cfg.t[k] || k; };
  var errorBox = document.getElementById("error");
  var busy = false;

  function showError(text) {
    if (!errorBox) return;
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }
  function post(body, buttons) {
    if (busy) return;
    busy = true;
    showError("");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch("/api/v1/track/" + encodeURIComponent(cfg.code), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          if (r.ok) {
            window.location.reload();
            return;
          }
          throw new Error(data.message || data.code || "HTTP " + r.status);
        });
      })
      .catch(function (e) {
        showError(e && e.message && e.message !== "Failed to fetch" ? e.message : t("network_error"));
        busy = false;
        buttons.forEach(function (b) { b.disabled = false; });
      });
  }

  var rate = document.getElementById("rate");
  if (rate) {
    var buttons = Array.prototype.slice.call(rate.querySelectorAll("button[data-satisfaction]"));
    buttons.forEach(function (b) {
      b.addEventListener("click", function () {
        post({ action: "rate", satisfaction: b.getAttribute("data-satisfaction") }, buttons);
      });
    });
  }
  var dispute = document.getElementById("dispute-form");
  if (dispute) {
    dispute.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var note = document.getElementById("dispute-note").value.trim();
      if (!note) return showError(t("note_needed"));
      post({ action: "dispute", note: note }, [dispute.querySelector("button")]);
    });
  }
})();
