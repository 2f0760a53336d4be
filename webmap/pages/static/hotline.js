/* The dispatch page's parked 12345 orders (docs/hotline.md): each is placed at one of its
   candidate places or at a point tapped on the map, which files it as a case. Hidden for
   accounts that may not see them (the API answers 403). */
(function () {
  "use strict";
  var S = window.Shudi, cfg = S.cfg, t = S.t, el = S.el, map = S.map;
  var box = document.getElementById("parked"), list = document.getElementById("parked-list");
  var live = document.getElementById("live-text");
  if (!map || !box || !cfg.parkedUrl) return;

  function place(o, pt) {
    S.fetchJSON(cfg.placeUrl + encodeURIComponent(o.id) + "/place", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(pt),
    }).then(function (r) {
      live.textContent = r.ok
        ? t("parked_done", { no: o.order_no, n: r.data.case_id })
        : S.errorText(r.data);
      load();
    });
  }

  function item(o) {
    var buttons = (o.candidates || []).map(function (c) {
      var b = el("button", { type: "button", class: "btn link" }, [t("parked_at", { name: c.name })]);
      b.addEventListener("click", function () {
        place(o, { lon: c.lon, lat: c.lat, crs: "wgs84" });
      });
      return b;
    });
    var pick = el("button", { type: "button", class: "btn", "data-testid": "parked-pick" },
      [t("parked_pick")]);
    pick.addEventListener("click", function () {
      live.textContent = t("parked_tap", { no: o.order_no });
      map.once("click", function (e) {
        var ll = e.latlng.wrap();
        place(o, { lon: ll.lng, lat: ll.lat, crs: cfg.crs === "gcj02" ? "gcj02" : "wgs84" });
      });
    });
    return el("li", { class: "case-item", "data-order": o.order_no }, [
      el("strong", {}, [o.order_no + " "]),
      el("span", {}, [(o.address || "") + " · " + String(o.content || "").slice(0, 60)]),
      el("p", { class: "hint" }, [o.reason || ""]),
      el("div", {}, buttons.concat([pick])),
    ]);
  }

  function load() {
    S.getJSON(cfg.parkedUrl).then(function (r) {
      if (!r.ok || !Array.isArray(r.data)) { box.hidden = true; return; }
      S.clear(list);
      r.data.forEach(function (o) { list.appendChild(item(o)); });
      box.hidden = r.data.length === 0;
    });
  }
  load();
})();
