// canary-trace console: times in the viewer's zone and locale, numbers in the viewer's
// locale, and live tables. Our own code, served from /static (the CSP allows nothing
// else). Every value shown here came from an adversary: cells are filled with
// textContent, never innerHTML.
"use strict";

(function () {
  const POLL_MS = 3000;
  const RELATIVE_MS = 7 * 24 * 3600 * 1000; // newer than this: "5 min ago"

  function pageLang() {
    return document.documentElement.lang || "en";
  }

  // The viewer's locale when it speaks the page's language (es-MX for a Spanish page
  // in a Mexican browser), else the page's language.
  function locale() {
    const lang = pageLang();
    const prefs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || lang];
    for (const p of prefs) {
      if (String(p).toLowerCase().split("-")[0] === lang) return p;
    }
    return lang;
  }

  const LOCALE = locale();
  const EXACT = new Intl.DateTimeFormat(LOCALE, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
  });
  const SHORT = new Intl.DateTimeFormat(LOCALE, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  });
  const AXIS = new Intl.DateTimeFormat(LOCALE, {
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  });
  const RELATIVE = typeof Intl.RelativeTimeFormat === "function"
    ? new Intl.RelativeTimeFormat(pageLang(), { numeric: "auto", style: "short" }) : null;
  const NUMBER = new Intl.NumberFormat(LOCALE);
  const PROB = new Intl.NumberFormat(LOCALE, { maximumSignificantDigits: 3 });
  const PROB_TINY = new Intl.NumberFormat(LOCALE, { notation: "scientific", maximumSignificantDigits: 3 });

  function relative(ms) {
    const s = Math.round(ms / 1000);
    const steps = [[60, "second"], [3600, "minute"], [86400, "hour"], [Infinity, "day"]];
    const div = { second: 1, minute: 60, hour: 3600, day: 86400 };
    for (const [limit, unit] of steps) {
      if (Math.abs(s) < limit) return RELATIVE.format(-Math.round(s / div[unit]), unit);
    }
    return "";
  }

  // <time datetime="UTC ISO" [data-rel]>: text in the viewer's zone (relative when recent
  // and allowed), exact time with the zone in the title.
  function localTime(el) {
    const when = new Date(el.getAttribute("datetime"));
    if (isNaN(when.getTime())) return;
    el.title = EXACT.format(when);
    const age = Date.now() - when.getTime();
    if (el.hasAttribute("data-rel") && RELATIVE && age > -60000 && age < RELATIVE_MS) {
      el.textContent = relative(Math.max(age, 0));
    } else {
      el.textContent = el.hasAttribute("data-rel") ? SHORT.format(when) : EXACT.format(when);
    }
    el.dataset.local = "1";
  }

  function localNumber(el) {
    const v = Number(el.getAttribute("value"));
    if (!isFinite(v)) return;
    if (el.classList.contains("p")) {
      el.textContent = v !== 0 && Math.abs(v) < 1e-4 ? PROB_TINY.format(v) : PROB.format(v);
    } else {
      el.textContent = NUMBER.format(v);
    }
  }

  // A chart's time axis label (<text data-datetime>), in the viewer's zone.
  function axisTime(el) {
    const when = new Date(el.getAttribute("data-datetime"));
    if (!isNaN(when.getTime())) el.textContent = AXIS.format(when);
  }

  // Tables that become cards on a phone: each cell carries its column's name, shown
  // before the value by the style sheet (td::before { content: attr(data-label) }).
  function labelCells(table) {
    const heads = Array.from(table.querySelectorAll("thead th")).map(function (th) {
      return th.textContent.trim();
    });
    Array.from(table.tBodies).forEach(function (tbody) {
      Array.from(tbody.rows).forEach(function (tr) {
        if (tr.cells.length !== heads.length) return; // a "nothing yet" row
        Array.from(tr.cells).forEach(function (td, i) {
          if (heads[i]) td.setAttribute("data-label", heads[i]);
        });
      });
    });
  }

  function localise(root) {
    root.querySelectorAll("table.cards").forEach(labelCells);
    root.querySelectorAll("time[datetime]").forEach(localTime);
    root.querySelectorAll("text[data-datetime]").forEach(axisTime);
    root.querySelectorAll("data.num, data.p").forEach(localNumber);
  }

  function timeZoneNote() {
    const note = document.getElementById("tz-note");
    let zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    if (!note || !zone) return;
    note.textContent = (note.dataset.viewer || "{tz}").replace("{tz}", zone);
    document.documentElement.dataset.viewerTz = zone;
  }

  // Live tables -----------------------------------------------------------------

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
    return td;
  }

  function timeCell(tr, iso) {
    const td = document.createElement("td");
    if (iso) {
      const t = document.createElement("time");
      t.setAttribute("datetime", String(iso));
      t.setAttribute("data-rel", "");
      t.textContent = String(iso);
      localTime(t);
      td.appendChild(t);
    }
    tr.appendChild(td);
    return td;
  }

  function numberCell(tr, n, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    const d = document.createElement("data");
    d.className = "num";
    d.setAttribute("value", String(Number(n) || 0));
    d.textContent = String(Number(n) || 0);
    localNumber(d);
    td.appendChild(d);
    tr.appendChild(td);
    return td;
  }

  const WORDS = {
    es: {
      exclusive: "exclusiva", shared: "compartida", coded: "codificada", unattributed: "sin atribuir", pending: "pendiente",
      open: "abierto", investigating: "en investigación", closed: "cerrado",
    },
    en: {
      exclusive: "exclusive", shared: "shared", coded: "coded", unattributed: "unattributed", pending: "pending",
      open: "open", investigating: "investigating", closed: "closed",
    },
  };

  function word(key) {
    const words = WORDS[pageLang()] || WORDS.en;
    return words[key] || String(key || "");
  }

  function badge(td, cls, text) {
    const span = document.createElement("span");
    span.className = "badge " + cls;
    span.textContent = text;
    td.appendChild(span);
    return span;
  }

  function strengthCell(tr, h) {
    const a = h.attribution || {};
    const td = document.createElement("td");
    td.className = "strength";
    const s = String(a.strength || "");
    badge(td, "strength-" + s.replace(/[^a-z-]/g, ""), word(s));
    const p = a.false_accusation_probability;
    if (typeof p === "number") {
      td.appendChild(document.createTextNode(" (P "));
      const d = document.createElement("data");
      d.className = "p";
      d.setAttribute("value", String(p));
      d.textContent = String(Number(p.toPrecision(3)));
      localNumber(d);
      td.appendChild(d);
      td.appendChild(document.createTextNode(")"));
    }
    tr.appendChild(td);
  }

  const RENDER = {
    hits: {
      url: "/api/hits?limit=50",
      key: "hits",
      row: function (tr, h) {
        cell(tr, String(h.id), "/hits/" + encodeURIComponent(h.id));
        timeCell(tr, h.observed_at);
        cell(tr, h.channel);
        cell(tr, h.identifier).className = "ident";
        cell(tr, h.sender).className = "ident";
        cell(tr, h.summary);
        strengthCell(tr, h);
        const td = cell(tr, "");
        td.className = "copies";
        (h.copies || []).forEach(function (c, i) {
          if (i) td.appendChild(document.createTextNode(" "));
          const a = document.createElement("a");
          a.href = "/copies/" + encodeURIComponent(c);
          a.textContent = c;
          td.appendChild(a);
        });
      },
    },
    incidents: {
      url: "/api/incidents",
      key: "incidents",
      row: function (tr, i) {
        cell(tr, String(i.id), "/incidents/" + encodeURIComponent(i.id));
        if (i.copy) {
          cell(tr, i.copy, "/copies/" + encodeURIComponent(i.copy)).className = "copy";
        } else {
          cell(tr, i.key).className = "copy";
        }
        cell(tr, i.recipient || "").className = "recipient";
        numberCell(tr, i.hits, "hits");
        numberCell(tr, i.shared_hits || 0, "shared-hits");
        timeCell(tr, i.opened_at).className = "opened";
        timeCell(tr, i.last_hit_at).className = "last-hit";
        const td = cell(tr, "");
        td.className = "status";
        const s = String(i.status || "");
        badge(td, "status-" + s.replace(/[^a-z-]/g, ""), word(s));
        cell(tr, i.assignee || "").className = "assignee";
      },
    },
  };

  async function refresh(table) {
    const spec = RENDER[table.dataset.live];
    if (!spec) return;
    let resp;
    try {
      resp = await fetch(table.dataset.src || spec.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch (e) {
      return;
    }
    if (resp.status === 401) {
      window.location.assign("/login");
      return;
    }
    if (!resp.ok) return;
    const doc = await resp.json();
    const items = doc[spec.key] || [];
    if (!items.length) return; // keep the server's "nothing yet" row
    const tbody = table.tBodies[0];
    const seen = new Set(Array.from(tbody.rows).map(function (r) { return r.dataset.id; }));
    const fresh = document.createElement("tbody");
    items.forEach(function (item) {
      const tr = document.createElement("tr");
      tr.dataset.id = String(item.id);
      if (seen.size && !seen.has(tr.dataset.id)) tr.className = "new";
      spec.row(tr, item);
      fresh.appendChild(tr);
    });
    table.replaceChild(fresh, tbody);
    labelCells(table);
  }

  function startLive() {
    const tables = Array.from(document.querySelectorAll("table[data-live]"));
    if (!tables.length) return;
    tables.forEach(function (t) {
      Array.from(t.tBodies[0].rows).forEach(function (r) {
        r.dataset.id = r.cells.length > 1 ? r.cells[0].textContent.trim() : "";
      });
    });
    const tick = function () { tables.forEach(refresh); };
    setInterval(tick, POLL_MS);
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    localise(document);
    timeZoneNote();
    startLive();
    setInterval(function () {
      document.querySelectorAll("time[data-rel]").forEach(localTime);
    }, 30000);
  });
})();
