/*
 * Metiva consent + analytics snippet.
 *
 * Served at GET /s/<site_key>/snippet.js. The server substitutes the config
 * placeholder below (it occurs exactly once) with a JSON object:
 *   { key, endpoint, version, texts: { nl: {...}, en: {...} } }
 *
 * Principles (AVG/GDPR, deny by default):
 *  - No cookies, ever. This file never touches document.cookie.
 *  - Nothing is written to localStorage before the visitor decides.
 *  - A first-party visitor id exists only while analytics or identification
 *    consent is granted; it is deleted on reject / withdrawal.
 *  - Page views never carry query strings or hashes (may hold personal data).
 *  - No cookie wall: the banner is non-modal and the page stays usable.
 *  - Never throw into the host page.
 */
(function () {
  "use strict";

  // Idempotent: a second copy of this script does nothing.
  if (window.__metivaLoaded) return;
  window.__metivaLoaded = true;

  var CFG;
  try {
    CFG = __METIVA_CONFIG__;
  } catch (e) {
    return; // unreplaced placeholder: stay silent
  }
  if (!CFG || !CFG.key || !CFG.endpoint) return;

  var KEY = String(CFG.key);
  var ENDPOINT = String(CFG.endpoint).replace(/\/+$/, "");
  var VERSION = String(CFG.version || "");
  var PURPOSES = ["analytics", "identification", "marketing"];
  var LS_CONSENT = "metiva_consent";
  var LS_VID = "metiva_vid";

  /* ---------------------------------------------------------------- *
   * Language and texts
   * ---------------------------------------------------------------- */
  function startsNl(s) {
    return String(s || "").toLowerCase().indexOf("nl") === 0;
  }
  // The page's own language wins; the browser's only when the page has none.
  var PAGE_LANG = (document.documentElement && document.documentElement.lang) || "";
  var LANG = (PAGE_LANG ? startsNl(PAGE_LANG) : startsNl(navigator.language)) ? "nl" : "en";
  var TEXTS = (CFG.texts && (CFG.texts[LANG] || CFG.texts.en || CFG.texts.nl)) || {};

  function t(k) {
    return TEXTS[k] != null ? String(TEXTS[k]) : k;
  }
  function purposeText(p, k) {
    var o = TEXTS.purposes && TEXTS.purposes[p];
    return o && o[k] != null ? String(o[k]) : k === "label" ? p : "";
  }

  /* ---------------------------------------------------------------- *
   * Google Consent Mode v2 (defaults: everything denied)
   * ---------------------------------------------------------------- */
  window.dataLayer = window.dataLayer || [];
  if (typeof window.gtag !== "function") {
    // Standard gtag shim; an existing page-defined gtag is left untouched.
    window.gtag = function gtag() {
      window.dataLayer.push(arguments);
    };
  }
  function gtag() {
    try {
      window.gtag.apply(window, arguments);
    } catch (e) {
      /* ignore */
    }
  }
  function gv(b) {
    return b ? "granted" : "denied";
  }
  function consentUpdate(p) {
    gtag("consent", "update", {
      analytics_storage: gv(p.analytics),
      ad_storage: gv(p.marketing),
      ad_user_data: gv(p.marketing),
      ad_personalization: gv(p.marketing)
    });
  }
  gtag("consent", "default", {
    analytics_storage: "denied",
    ad_storage: "denied",
    ad_user_data: "denied",
    ad_personalization: "denied",
    wait_for_update: 500
  });

  /* ---------------------------------------------------------------- *
   * Storage (localStorage only, always guarded)
   * ---------------------------------------------------------------- */
  function lsGet(k) {
    try {
      return window.localStorage.getItem(k);
    } catch (e) {
      return null;
    }
  }
  function lsSet(k, v) {
    try {
      window.localStorage.setItem(k, v);
    } catch (e) {
      /* storage blocked */
    }
  }
  function lsDel(k) {
    try {
      window.localStorage.removeItem(k);
    } catch (e) {
      /* storage blocked */
    }
  }

  function normalise(p) {
    var out = {};
    PURPOSES.forEach(function (k) {
      out[k] = !!(p && p[k] === true);
    });
    return out;
  }

  // The stored decision, or null when absent, malformed or for another
  // banner version (then the visitor is asked again).
  function readDecision() {
    try {
      var d = JSON.parse(lsGet(LS_CONSENT) || "null");
      if (!d || d.v !== VERSION || typeof d.p !== "object" || !d.p) return null;
      return normalise(d.p);
    } catch (e) {
      return null;
    }
  }

  var decision = readDecision(); // null = no (valid) decision yet

  function granted(p) {
    return !!(decision && decision[p]);
  }
  function anyGranted() {
    return PURPOSES.some(granted);
  }

  // Visitor id, only when the current valid decision allows it.
  function currentVid() {
    if (!granted("analytics") && !granted("identification")) return null;
    var v = lsGet(LS_VID);
    return v && /^[0-9a-f-]{36}$/i.test(v) ? v : null;
  }

  function newVid() {
    try {
      var c = window.crypto;
      if (c && typeof c.randomUUID === "function") return c.randomUUID();
      if (c && c.getRandomValues) {
        var b = c.getRandomValues(new Uint8Array(16));
        b[6] = (b[6] & 0x0f) | 0x40; // version 4
        b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
        var h = "";
        for (var i = 0; i < 16; i++) h += (b[i] + 0x100).toString(16).slice(1);
        return (
          h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" +
          h.slice(16, 20) + "-" + h.slice(20)
        );
      }
    } catch (e) {
      /* fall through */
    }
    return null; // no secure randomness: no identifier
  }

  /* ---------------------------------------------------------------- *
   * Network (text/plain keeps it a CORS simple request: no preflight)
   * ---------------------------------------------------------------- */
  function post(path, body) {
    try {
      if (typeof window.fetch !== "function") return Promise.resolve(null);
      return window
        .fetch(ENDPOINT + path, {
          method: "POST",
          mode: "cors",
          credentials: "omit",
          keepalive: true,
          headers: { "Content-Type": "text/plain" },
          body: JSON.stringify(body)
        })
        .catch(function () {
          return null;
        });
    } catch (e) {
      return Promise.resolve(null);
    }
  }

  /* ---------------------------------------------------------------- *
   * Page views
   * ---------------------------------------------------------------- */
  function referrerHost() {
    try {
      if (!document.referrer) return null;
      var h = new URL(document.referrer).hostname;
      return h && h !== location.hostname ? h : null;
    } catch (e) {
      return null;
    }
  }

  var lastPath = location.pathname;

  function pageview(referrer) {
    post("/collect", {
      site: KEY,
      type: "pageview",
      path: String(location.pathname).slice(0, 512), // no query, no hash
      referrer: referrer,
      visitor: granted("analytics") ? currentVid() : null
    });
  }

  function onNavigate() {
    try {
      if (location.pathname === lastPath) return;
      lastPath = location.pathname;
      pageview(null); // in-app navigation: same host, so no referrer
    } catch (e) {
      /* ignore */
    }
  }

  // Page view at load.
  pageview(referrerHost());

  // SPA navigation: wrap pushState/replaceState, listen to popstate.
  try {
    ["pushState", "replaceState"].forEach(function (m) {
      var orig = history[m];
      if (typeof orig !== "function") return;
      history[m] = function () {
        var r = orig.apply(this, arguments);
        onNavigate();
        return r;
      };
    });
    window.addEventListener("popstate", onNavigate);
  } catch (e) {
    /* ignore */
  }

  // Apply a stored, current decision right away.
  if (decision) consentUpdate(decision);

  /* ---------------------------------------------------------------- *
   * Decisions
   * ---------------------------------------------------------------- */
  function consentEvent(p, visitor, withdraw) {
    return post("/collect", {
      site: KEY,
      type: "consent",
      purposes: p,
      banner_version: VERSION,
      lang: LANG,
      visitor: visitor,
      withdraw: withdraw
    });
  }

  function storeDecision(p) {
    decision = p;
    lsSet(LS_CONSENT, JSON.stringify({ v: VERSION, p: p, t: Date.now() }));
  }

  function decide(input) {
    try {
      var p = normalise(input);
      var prev = currentVid(); // only a vid backed by a current decision
      var vid = null;
      if (p.analytics || p.identification) {
        vid = prev || newVid();
        if (vid) lsSet(LS_VID, vid);
      } else {
        lsDel(LS_VID);
      }
      storeDecision(p);
      consentUpdate(p);
      // Grant: the (new) vid. Revoking with a prior vid: that vid, so the
      // server can apply the change. Reject without prior vid: null.
      consentEvent(p, vid || prev, false);
    } catch (e) {
      /* ignore */
    }
    closeBanner();
  }

  function withdraw() {
    try {
      var p = normalise(null);
      // Tell the server first, with the old identifier, then forget it.
      consentEvent(p, currentVid(), true);
      lsDel(LS_VID);
      storeDecision(p);
      consentUpdate(p);
    } catch (e) {
      /* ignore */
    }
    closeBanner();
  }

  /* ---------------------------------------------------------------- *
   * Banner UI (Shadow DOM, non-modal)
   * ---------------------------------------------------------------- */
  var CSS =
    ":host{all:initial}" +
    "[hidden]{display:none!important}" +
    ".card{position:fixed;left:12px;right:12px;bottom:12px;margin:0 auto;" +
    "max-width:560px;box-sizing:border-box;padding:18px 20px;z-index:2147483646;" +
    "background:#fff;color:#1f2328;border:1px solid #d0d7de;border-radius:12px;" +
    "box-shadow:0 8px 28px rgba(0,0,0,.18);" +
    "font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;" +
    "max-height:calc(100vh - 24px);overflow:auto}" +
    "h2{margin:0 0 6px;font-size:16px;line-height:1.3}" +
    "p{margin:0 0 12px}" +
    ".row{display:flex;gap:8px;flex-wrap:wrap;margin-top:8px}" +
    ".row button{flex:1 1 0;min-width:0}" +
    "button{font:inherit;font-weight:600;cursor:pointer;border-radius:8px;" +
    "padding:10px 14px;border:2px solid #1f2328}" +
    ".main{background:#1f2328;color:#fff}" +
    ".alt{background:#fff;color:#1f2328}" +
    "button:focus-visible,input:focus-visible{outline:3px solid #0969da;outline-offset:2px}" +
    "label{display:flex;gap:10px;align-items:flex-start;padding:8px 0;" +
    "border-top:1px solid #eaeef2;cursor:pointer}" +
    "input{width:18px;height:18px;margin:2px 0 0;flex:none;accent-color:#1f2328}" +
    "small{display:block;color:#57606a;font-size:13px}" +
    ".settings{position:fixed;left:12px;bottom:12px;z-index:2147483646;" +
    "font:12px/1.2 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;" +
    "font-weight:600;padding:7px 11px;border:1px solid #8c959f;border-radius:999px;" +
    "background:#fff;color:#1f2328;box-shadow:0 2px 8px rgba(0,0,0,.12)}";

  var ui = null; // { card, list, boxes, customise, save, withdraw, settings }

  // Tiny element builder; all text goes through textContent (no HTML).
  function el(tag, attrs, kids) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      n.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) {
      n.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return n;
  }
  function button(action, cls, onClick) {
    var b = el("button", { type: "button", class: cls, "data-metiva": action }, [t(action)]);
    b.addEventListener("click", function (e) {
      e.preventDefault();
      try {
        onClick();
      } catch (err) {
        /* ignore */
      }
    });
    return b;
  }

  function checked() {
    var p = {};
    PURPOSES.forEach(function (k) {
      p[k] = ui.boxes[k].checked;
    });
    return p;
  }

  function build() {
    if (ui) return ui;
    var host = el("div", { id: "metiva-consent" });
    // Keep page CSS away from the host box itself.
    host.style.setProperty("all", "initial", "important");
    var root = host.attachShadow({ mode: "open" });
    var boxes = {};

    var list = el("div", { class: "purposes", hidden: "" });
    PURPOSES.forEach(function (k) {
      var id = "metiva-help-" + k;
      boxes[k] = el("input", { type: "checkbox", "data-purpose": k, "aria-describedby": id });
      list.appendChild(
        el("label", {}, [
          boxes[k],
          el("span", {}, [
            el("strong", {}, [purposeText(k, "label")]),
            el("small", { id: id }, [purposeText(k, "help")])
          ])
        ])
      );
    });

    ui = {
      host: host,
      list: list,
      boxes: boxes,
      customise: button("customise", "alt", function () {
        showCustomise(false);
      }),
      save: button("save", "alt", function () {
        decide(checked());
      }),
      withdraw: button("withdraw", "alt", withdraw),
      settings: button("settings", "settings", function () {
        openBanner(true);
      })
    };
    ui.save.hidden = true;
    ui.withdraw.hidden = true;
    ui.settings.hidden = true;

    ui.card = el(
      "div",
      {
        class: "card",
        role: "dialog",
        "aria-modal": "false",
        "aria-labelledby": "metiva-title",
        "aria-describedby": "metiva-body",
        lang: LANG,
        hidden: ""
      },
      [
        el("h2", { id: "metiva-title" }, [t("title")]),
        el("p", { id: "metiva-body" }, [t("body")]),
        list,
        // Reject and accept: same style, side by side, one click each.
        el("div", { class: "row" }, [
          button("reject", "main", function () {
            decide(null);
          }),
          button("accept", "main", function () {
            decide({ analytics: true, identification: true, marketing: true });
          })
        ]),
        el("div", { class: "row" }, [ui.customise, ui.save, ui.withdraw])
      ]
    );
    ui.settings.setAttribute("lang", LANG);

    // Escape closes the banner only when a decision already exists.
    ui.card.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && decision) closeBanner();
    });

    root.appendChild(el("style", {}, [CSS]));
    root.appendChild(ui.card);
    root.appendChild(ui.settings);
    (document.body || document.documentElement).appendChild(host);
    return ui;
  }

  // Expand the per-purpose checkboxes, reflecting the current choices.
  function showCustomise(focus) {
    PURPOSES.forEach(function (k) {
      ui.boxes[k].checked = granted(k);
    });
    ui.list.hidden = false;
    ui.customise.hidden = true;
    ui.save.hidden = false;
    ui.withdraw.hidden = !anyGranted();
    if (focus) ui.boxes[PURPOSES[0]].focus();
  }

  function openBanner(customise) {
    build();
    ui.list.hidden = true;
    ui.customise.hidden = false;
    ui.save.hidden = true;
    ui.withdraw.hidden = true;
    ui.settings.hidden = true;
    ui.card.hidden = false;
    if (customise) showCustomise(true);
  }

  function closeBanner() {
    if (!ui) return;
    var hadFocus = ui.host.shadowRoot.activeElement != null;
    ui.card.hidden = true;
    ui.settings.hidden = false;
    if (hadFocus) ui.settings.focus();
  }

  /* ---------------------------------------------------------------- *
   * Form helper: <form data-metiva-capture>
   * ---------------------------------------------------------------- */
  function field(form, name) {
    try {
      var f = form.elements && form.elements.namedItem(name);
      var v = f && f.value != null ? String(f.value).trim() : "";
      return v ? v.slice(0, 320) : null;
    } catch (e) {
      return null;
    }
  }

  function capture(form) {
    function done(detail) {
      try {
        form.dispatchEvent(new CustomEvent("metiva:capture", { detail: detail, bubbles: true }));
      } catch (e) {
        /* ignore */
      }
      return detail;
    }
    try {
      var vid = granted("identification") ? currentVid() : null;
      if (!vid) return Promise.resolve(done({ ok: false, status: 0, reason: "no-consent" }));
      return post("/capture", {
        site: KEY,
        visitor: vid,
        name: field(form, "name"),
        email: field(form, "email"),
        company: field(form, "company")
      }).then(function (res) {
        return done(res ? { ok: !!res.ok, status: res.status } : { ok: false, status: 0, reason: "network" });
      });
    } catch (e) {
      return Promise.resolve(done({ ok: false, status: 0, reason: "error" }));
    }
  }

  try {
    document.addEventListener(
      "submit",
      function (e) {
        var form = e.target;
        if (form && form.hasAttribute && form.hasAttribute("data-metiva-capture")) {
          e.preventDefault();
          capture(form);
        }
      },
      true
    );
  } catch (e) {
    /* ignore */
  }

  /* ---------------------------------------------------------------- *
   * Public API and boot
   * ---------------------------------------------------------------- */
  window.Metiva = {
    capture: capture,
    consent: function () {
      return normalise(decision);
    },
    openSettings: function () {
      try {
        openBanner(true);
      } catch (e) {
        /* ignore */
      }
    }
  };

  function boot() {
    try {
      if (decision) {
        build();
        ui.settings.hidden = false;
      } else {
        openBanner(false);
      }
    } catch (e) {
      /* ignore */
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", boot);
  } else {
    boot();
  }
})();
