/* /directory: tap a place → every party responsible there (same markup as directory.py). */
(function () {
  "use strict";
  var S = window.Shudi, cfg = S.cfg, t = S.t, el = S.el;
  var box = document.getElementById("directory");
  var seq = 0;
  var en = cfg.lang === "en";

  function pick(obj, zh, enKey) {
    return (en && obj[enKey]) || obj[zh] || "";
  }
  function party(p) {
    var li = el("li", { class: "party", "data-agency": p.agency }, [
      el("h3", { text: pick(p, "name_zh", "name_en") || p.agency }),
    ]);
    if (p.acting_unit && p.acting_unit.name) {
      li.appendChild(el("p", { class: "unit", text: t("acting") + p.acting_unit.name }));
    }
    var c = p.contact;
    if (c) {
      var line = el("p", { class: "contact" }, [t("contact")]);
      var parts = [c.office, c.person].filter(Boolean);
      line.appendChild(document.createTextNode(parts.join(" · ")));
      if (c.phone) {
        if (parts.length) line.appendChild(document.createTextNode(" · "));
        line.appendChild(el("a", { href: "tel:" + c.phone.replace(/[^0-9+]/g, ""), text: c.phone }));
      }
      if (c.hours) line.appendChild(el("span", { class: "hint", text: " " + c.hours }));
      li.appendChild(line);
    } else {
      li.appendChild(el("p", { class: "contact hint", text: t("no_contact") }));
    }
    var duties = pick(p, "duties_zh", "duties_en");
    if (duties) {
      li.appendChild(el("details", {}, [el("summary", { text: t("duties") }), el("p", { text: duties })]));
    }
    var handles = p.handles || [];
    if (handles.length) {
      var ul = el("ul");
      handles.forEach(function (h) { ul.appendChild(el("li", { text: pick(h, "name_zh", "name_en") })); });
      li.appendChild(el("details", {}, [
        el("summary", { text: t("handles", { n: handles.length }) }), ul,
      ]));
    }
    return li;
  }

  function show(pt) {
    var mine = ++seq;
    S.setPin(pt, false);
    if (S.expandSheet()) S.reveal(S.onMap(pt));
    S.clear(box).appendChild(el("p", { class: "coords", text: S.pointLabel(pt) }));
    box.appendChild(el("p", { class: "hint", text: t("loading") }));
    var q = { lon: pt.lon, lat: pt.lat, crs: pt.crs };
    if (cfg.type) q.type = cfg.type;
    S.getJSON("/api/v1/directory", q).then(function (r) {
      if (mine !== seq) return;
      S.clear(box);
      if (!r.ok) {
        box.appendChild(el("p", { class: "coords", text: S.pointLabel(pt) }));
        box.appendChild(S.errorNode(r.data));
        S.setPin(pt, true);
        return;
      }
      box.appendChild(S.placeNode(r.data.place || {}, pt));
      var parties = r.data.parties || [];
      box.appendChild(el("h2", { text: t("parties", { n: parties.length }) }));
      var list = el("ol", { class: "parties" });
      box.appendChild(el("p", { class: "hint", text: t("call_order") }));
      parties.forEach(function (p) { list.appendChild(party(p)); });
      box.appendChild(list);
      box.appendChild(el("h2", { text: t("utilities") }));
      var us = r.data.utilities || [];
      if (!us.length) box.appendChild(el("p", { class: "hint", text: t("no_utilities") }));
      var ul = el("ul", { class: "utilities" });
      us.forEach(function (u) {
        ul.appendChild(el("li", { class: "utility", "data-kind": u.kind }, [
          el("strong", { text: pick(u, "name_zh", "name_en") }), " " + (u.name || "") + " · ",
          el("a", { href: "tel:" + (u.phone || "").replace(/[^0-9+]/g, ""), text: u.phone }),
          u.hours ? el("span", { class: "hint", text: " " + u.hours }) : null,
        ]));
      });
      box.appendChild(ul);
    });
  }
  S.onTap(show);
  S.keyboardPin(show);
  if (cfg.initial) {
    S.setPin(cfg.initial, false);
    S.reveal(S.onMap(cfg.initial));
  }
})();
