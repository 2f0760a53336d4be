/* 吹哨报到 on the case page: the called unit's "I am on site" button sends the phone's position
   (browser geolocation, WGS-84, with its accuracy) to POST /api/v1/tasks/{id}/report-in; the
   town's rating form to POST /api/v1/tasks/{id}/rating. Refusals are shown in the page's words. */
(function () {
  "use strict";
  var S = window.Shudi, t = S.t;
  var box = document.getElementById("report-in-msg");
  if (!box) return;

  function say(text) { box.textContent = text; box.hidden = false; }
  function refusal(r) {
    var d = r.data || {};
    if (d.code === "too_far_to_report_in" && typeof d.distance_m === "number") {
      return t("ri_too_far", { d: Math.round(d.distance_m), tol: Math.round(d.tolerance_m) });
    }
    if (d.code === "too_far_to_report_in" && typeof d.accuracy_m === "number") {
      return t("ri_vague", { a: Math.round(d.accuracy_m), tol: Math.round(d.tolerance_m) });
    }
    return d.message || S.errorText(d);
  }
  function post(url, body, button) {
    return S.fetchJSON(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }).then(function (r) {
      if (r.ok) { location.reload(); return; }
      button.disabled = false;
      say(refusal(r));
    });
  }

  document.querySelectorAll("button[data-testid=report-in]").forEach(function (button) {
    button.addEventListener("click", function () {
      box.hidden = true;
      if (!navigator.geolocation) { say(t("ri_no_geo")); return; }
      button.disabled = true;
      var label = button.textContent;
      button.textContent = t("ri_locating");
      navigator.geolocation.getCurrentPosition(function (pos) {
        button.textContent = label;
        post("/api/v1/tasks/" + button.getAttribute("data-task") + "/report-in", {
          lon: pos.coords.longitude, lat: pos.coords.latitude, crs: "wgs84",
          accuracy: pos.coords.accuracy,
        }, button);
      }, function () {
        button.textContent = label;
        button.disabled = false;
        say(t("ri_no_geo"));
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
    });
  });

  document.querySelectorAll("form.rate-response").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      post("/api/v1/tasks/" + form.getAttribute("data-task") + "/rating", {
        rating: parseInt(form.elements.rating.value, 10), note: form.elements.note.value.trim(),
      }, button);
    });
  });
})();
