/* /cases/{id}: the dispatcher's 回访 record (POST /api/v1/tasks/{id}/visit), the proposal to
   leave a rating out (POST /api/v1/cases/{id}/rating-exclusion) and its review
   (POST /api/v1/rating-exclusions/{id}/review). On success the page reloads. */
(function () {
  "use strict";
  var S = window.Shudi;

  function send(form, url, body) {
    var box = form.querySelector("[role=alert]");
    var buttons = form.querySelectorAll("button");
    box.hidden = true;
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    S.fetchJSON(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }).then(function (r) {
      if (r.ok) return location.reload();
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
      box.textContent = S.errorText(r.data || {});
      box.hidden = false;
    });
  }
  function checked(form, name) {
    var el = form.querySelector("input[name=" + name + "]:checked");
    return el ? el.value : null;
  }

  var visit = document.getElementById("visit-form");
  if (visit) {
    visit.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var reached = checked(visit, "reached") === "yes";
      var solved = checked(visit, "resolved");
      var rating = checked(visit, "satisfaction");
      var body = { reached: reached, comment: visit.querySelector("textarea").value.trim() };
      if (reached) {
        body.resolved = solved === null ? null : solved === "yes";
        body.satisfaction = rating ? parseInt(rating, 10) : null;
      }
      send(visit, "/api/v1/tasks/" + visit.getAttribute("data-task") + "/visit", body);
    });
  }
  var propose = document.getElementById("exclusion-form");
  if (propose) {
    propose.addEventListener("submit", function (ev) {
      ev.preventDefault();
      send(propose, "/api/v1/cases/" + propose.getAttribute("data-case") + "/rating-exclusion",
        { reason: propose.querySelector("textarea").value.trim() });
    });
  }
  var review = document.getElementById("exclusion-review");
  if (review) {
    review.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var approve = ev.submitter ? ev.submitter.value === "yes" : true;
      send(review, "/api/v1/rating-exclusions/" + review.getAttribute("data-id") + "/review",
        { approve: approve, note: review.querySelector("input[name=note]").value.trim() });
    });
  }
})();
