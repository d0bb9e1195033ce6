// canary-trace dashboard: live tables and nothing else. Every value shown here came
// from an adversary: cells are filled with textContent, never innerHTML.
"use strict";

(function () {
  const POLL_MS = 3000;

  function cell(tr, text, href) {
    const td = document.createElement("td");
    if (href) {
      const a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    } else {
      td.textContent = text == null ? "" : String(text);
    }
    tr.appendChild(td);
  }

  const STRENGTH = {
    es: { exclusive: "exclusiva", shared: "compartida", coded: "codificada", unattributed: "sin atribuir", pending: "pendiente" },
    en: { exclusive: "exclusive", shared: "shared", coded: "coded", unattributed: "unattributed", pending: "pending" },
  };

  function strength(h) {
    const a = h.attribution || {};
    const words = STRENGTH[document.body.dataset.lang] || STRENGTH.en;
    let text = words[a.strength] || String(a.strength || "");
    const p = a.false_accusation_probability;
    if (typeof p === "number") text += " (P " + Number(p.toPrecision(3)) + ")";
    return text;
  }

  const RENDER = {
    hits: {
      url: "/api/hits?limit=50",
      key: "hits",
      row: function (tr, h) {
        cell(tr, String(h.id), "/hits/" + encodeURIComponent(h.id));
        cell(tr, h.observed_at);
        cell(tr, h.channel);
        cell(tr, h.identifier);
        cell(tr, h.sender);
        cell(tr, h.summary);
        cell(tr, strength(h));
        cell(tr, (h.copies || []).join(" "));
      },
    },
    incidents: {
      url: "/api/incidents",
      key: "incidents",
      row: function (tr, i) {
        cell(tr, String(i.id), "/incidents/" + encodeURIComponent(i.id));
        if (i.copy) {
          cell(tr, i.copy, "/copies/" + encodeURIComponent(i.copy));
        } else {
          cell(tr, i.key);
        }
        cell(tr, i.recipient || "");
        cell(tr, String(i.hits));
        cell(tr, String(i.shared_hits || 0));
        cell(tr, i.last_hit_at);
        cell(tr, i.status);
      },
    },
    alerts: {
      url: "/api/alerts",
      key: "alerts",
      row: function (tr, a) {
        cell(tr, String(a.id));
        cell(tr, a.created_at);
        cell(tr, a.kind);
        cell(tr, a.channel);
        cell(tr, a.state);
      },
    },
  };

  async function refresh(table) {
    const spec = RENDER[table.dataset.live];
    if (!spec) return;
    let resp;
    try {
      resp = await fetch(spec.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch (e) {
      return;
    }
    if (resp.status === 401) {
      window.location.assign("/login");
      return;
    }
    if (!resp.ok) return;
    const doc = await resp.json();
    const tbody = table.tBodies[0];
    const seen = new Set(Array.from(tbody.rows).map(function (r) { return r.dataset.id; }));
    const fresh = document.createElement("tbody");
    (doc[spec.key] || []).forEach(function (item) {
      const tr = document.createElement("tr");
      tr.dataset.id = String(item.id);
      if (seen.size && !seen.has(tr.dataset.id)) tr.className = "new";
      spec.row(tr, item);
      fresh.appendChild(tr);
    });
    table.replaceChild(fresh, tbody);
  }

  function start() {
    const tables = Array.from(document.querySelectorAll("table[data-live]"));
    if (!tables.length) return;
    tables.forEach(function (t) {
      Array.from(t.tBodies[0].rows).forEach(function (r) {
        r.dataset.id = r.cells.length ? r.cells[0].textContent.trim() : "";
      });
    });
    const tick = function () { tables.forEach(refresh); };
    setInterval(tick, POLL_MS);
    tick();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
