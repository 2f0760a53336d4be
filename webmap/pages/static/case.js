/* /cases/{id}: each allowed action is a form; it is sent to the case API as any client would,
   POST /api/v1/cases/{id}/transitions with If-Match: "<version>", and the page reloads to show
   the new state. A stale version (412) asks for a reload; other errors show their message. */
(function () {
  "use strict";
  var S = window.Shudi, cfg = S.cfg, t = S.t;
  var errorBox = document.getElementById("action-error");

  /* Beijing wall time from <input type="datetime-local"> → ISO 8601 with its offset. */
  function beijing(value) { return value ? value + (value.length === 16 ? ":00" : "") + "+08:00" : null; }

  function bodyOf(form) {
    var body = { action: form.getAttribute("data-action") };
    Array.prototype.forEach.call(form.elements, function (input) {
      var name = input.name;
      if (!name) return;
      if (name === "parties") {
        var picked = Array.prototype.filter.call(input.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
        if (picked.length) body.parties = picked;
        return;
      }
      var v = input.value.trim();
      if (!v) return;
      if (name === "task_id" || name === "into") body[name] = parseInt(v, 10);
      else if (name === "lon" || name === "lat") body[name] = parseFloat(v);
      else if (name === "due_at") body.due_at = beijing(v);
      else body[name] = v;
    });
    return body;
  }

  function showError(r) {
    S.clear(errorBox);
    if (r.status === 412) {
      errorBox.appendChild(document.createTextNode(t("stale") + " "));
      errorBox.appendChild(S.el("a", { href: location.pathname + location.search, text: t("reload") }));
    } else {
      errorBox.appendChild(document.createTextNode(S.errorText(r.data)));
    }
    errorBox.hidden = false;
  }

  /* A destructive action asks first: a dialog naming it, "cancel" focused. */
  function confirmed(form) {
    if (!form.hasAttribute("data-confirm")) return Promise.resolve(true);
    var label = form.querySelector("button[type=submit]").textContent;
    return S.confirm({ title: t("confirm"), text: t("confirm_text", { action: label }),
      yes: t("confirm_yes"), no: t("confirm_no"), danger: true });
  }

  document.querySelectorAll("form.action").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      confirmed(form).then(function (ok) { if (ok) send(form); });
    });
  });

  function send(form) {
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    errorBox.hidden = true;
    S.fetchJSON(cfg.transitions, {
      method: "POST",
      headers: { "Content-Type": "application/json", "If-Match": '"' + cfg.version + '"' },
      body: JSON.stringify(bodyOf(form)),
    }).then(function (r) {
      if (r.ok) {
        if (r.data && r.data.visible === false) location.href = cfg.home; // e.g. referred away
        else location.reload();
        return;
      }
      button.disabled = false;
      showError(r);
    });
  }
})();
