/* 吹哨报到 on the dispatch map: every cfg.pollMs, the open joint cases whose called units are
   overdue or late in reporting in (GET cfg.reportInLate) get a badge in the side lists and a
   whistle mark on the map, live. */
(function () {
  "use strict";
  var S = window.Shudi, cfg = S.cfg, t = S.t, map = S.map;
  if (!cfg.reportInLate || !map) return;
  var layer = L.layerGroup().addTo(map);
  var late = {}; // case id → [unit names]

  function badge(li) {
    var id = li.getAttribute("data-case-id"), old = li.querySelector(".ri-badge");
    if (!late[id]) { if (old) old.remove(); li.removeAttribute("data-report-in-late"); return; }
    li.setAttribute("data-report-in-late", "true");
    var text = t("ri_badge") + "：" + late[id].join("、");
    if (old) { old.textContent = text; return; }
    var main = li.querySelector(".ci-main") || li;
    main.appendChild(S.el("span", { class: "badge late ri-badge", "data-testid": "report-in-late",
      text: text }));
  }
  function decorate() {
    document.querySelectorAll("li[data-case-id]").forEach(badge);
  }
  ["case-list", "new-list"].forEach(function (id) {
    var list = document.getElementById(id);
    if (list) new MutationObserver(function (changes) {
      if (changes.some(function (c) { return c.addedNodes.length; })) decorate();
    }).observe(list, { childList: true });
  });

  function poll() {
    S.getJSON(cfg.reportInLate).then(function (r) {
      if (!r.ok) return;
      late = {};
      layer.clearLayers();
      r.data.forEach(function (c) {
        var id = String(c.case_id), first = !late[id];
        (late[id] = late[id] || []).push(c.unit_name || c.party);
        if (!first) return;
        var ll = S.onMap({ lon: c.lon, lat: c.lat, crs: "wgs84" });
        layer.addLayer(L.marker(ll, {
          keyboard: false, interactive: false, zIndexOffset: 1000,
          icon: L.divIcon({ className: "ri-mark", html: "<b>!</b>", iconSize: [18, 18],
            iconAnchor: [-2, 26] }),
        }));
      });
      decorate();
    });
  }
  poll();
  setInterval(poll, cfg.pollMs || 30000);
})();
