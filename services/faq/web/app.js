// Help centre: results as you type, votes and the contact form. Works
// without this script too (plain forms); no external assets.
(function () {
  "use strict";
  var body = document.body;
  var lang = body.getAttribute("data-lang") || "en";
  function t(k) { return body.getAttribute("data-t-" + k) || ""; }
  function session() {
    try {
      var s = sessionStorage.getItem("nc_help_session");
      if (!s) {
        var a = new Uint8Array(16);
        crypto.getRandomValues(a);
        s = Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
        sessionStorage.setItem("nc_help_session", s);
      }
      return s;
    } catch (e) { return ""; }
  }
  function remember(searchID) { try { if (searchID) sessionStorage.setItem("nc_help_search", searchID); } catch (e) {} }
  function lastSearch() { try { return sessionStorage.getItem("nc_help_search") || ""; } catch (e) { return ""; } }
  function post(url, data) {
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, status: r.status, body: j }; }); });
  }

  // Search as you type.
  var q = document.getElementById("q");
  var results = document.getElementById("results");
  var status = document.getElementById("search-status");
  var escBox = document.getElementById("escalate-box");
  var escLink = document.getElementById("escalate-link");
  if (q && results) {
    var timer = null, seq = 0;
    var run = function () {
      var text = q.value.trim();
      var mine = ++seq;
      if (!text) { results.textContent = ""; status.textContent = ""; if (escBox) escBox.hidden = true; return; }
      var url = "/v1/faq/search?q=" + encodeURIComponent(text) + "&locale=" + encodeURIComponent(lang) + "&limit=8";
      var s = session(); if (s) url += "&session=" + s;
      fetch(url).then(function (r) { return r.json(); }).then(function (res) {
        if (mine !== seq) return;
        if (!res.hits) { status.textContent = (res.error && res.error.message) || t("error"); return; }
        remember(res.search_id);
        results.setAttribute("data-search-id", res.search_id);
        results.textContent = "";
        res.hits.forEach(function (h) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = h.url + "?lang=" + encodeURIComponent(lang) + "&sid=" + encodeURIComponent(res.search_id);
          a.textContent = h.title;
          a.setAttribute("lang", h.locale);
          var p = document.createElement("p");
          // The snippet is escaped text with <mark> only (server-side).
          p.innerHTML = h.snippet;
          li.appendChild(a); li.appendChild(p);
          results.appendChild(li);
        });
        var msgs = (res.notices || []).filter(function (n) { return n.kind !== "known_issue"; }).map(function (n) { return n.message; });
        var issues = (res.notices || []).filter(function (n) { return n.kind === "known_issue"; });
        issues.forEach(function (n) {
          var li = document.createElement("li");
          li.className = "issue-hit";
          var strong = document.createElement("strong");
          strong.textContent = n.title;
          li.appendChild(strong);
          if (n.message) li.appendChild(document.createTextNode(" — " + n.message));
          results.insertBefore(li, results.firstChild);
        });
        if (res.hits.length) msgs.unshift(t("results").replace("%d", res.hits.length));
        status.textContent = msgs.join(" ");
        if (escBox) { escBox.hidden = false; }
        if (escLink) { escLink.href = "/help/contact?lang=" + encodeURIComponent(lang) + "&search_id=" + encodeURIComponent(res.search_id); }
      }).catch(function () { if (mine === seq) status.textContent = t("error"); });
    };
    q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 150); });
    var form = document.getElementById("search-form");
    if (form) form.addEventListener("submit", function (e) { e.preventDefault(); clearTimeout(timer); run(); });
  }

  // Was this helpful?
  var vote = document.querySelector(".vote");
  if (vote) {
    var sid = vote.getAttribute("data-search-id") || lastSearch();
    var buttons = vote.querySelectorAll("button[data-helpful]");
    Array.prototype.forEach.call(buttons, function (b) {
      b.addEventListener("click", function () {
        var helpful = b.getAttribute("data-helpful") === "true";
        var vs = document.getElementById("vote-status");
        post("/v1/faq/feedback", { search_id: sid, article_id: vote.getAttribute("data-article"), helpful: helpful, session: session() })
          .then(function (r) {
            if (!r.ok) { vs.textContent = (r.body.error && r.body.error.message) || t("error"); return; }
            Array.prototype.forEach.call(buttons, function (x) { x.disabled = true; });
            vs.textContent = r.body.message;
            if (!helpful) {
              var c = document.getElementById("vote-contact");
              if (c) {
                c.hidden = false;
                if (r.body.contact_url) c.querySelector("a").href = r.body.contact_url;
              }
            }
          }).catch(function () { vs.textContent = t("error"); });
      });
    });
  }

  // Contact form (escalation).
  var cf = document.getElementById("contact-form");
  if (cf) {
    var sidField = document.getElementById("search_id");
    if (sidField && !sidField.value) sidField.value = lastSearch();
    cf.addEventListener("submit", function (e) {
      e.preventDefault();
      var cs = document.getElementById("contact-status");
      var msg = document.getElementById("message");
      if (!msg.value.trim()) { msg.setAttribute("aria-invalid", "true"); msg.focus(); return; }
      cs.textContent = t("sending");
      post("/v1/faq/escalate", {
        search_id: sidField.value, message: msg.value, email: document.getElementById("email").value,
        order_id: document.getElementById("order_id").value, article_id: document.getElementById("article_id").value,
        locale: lang, session: session()
      }).then(function (r) {
        if (!r.ok) { cs.textContent = (r.body.error && r.body.error.message) || t("error"); return; }
        cf.hidden = true;
        cs.textContent = r.body.message;
        cs.setAttribute("data-contact-id", r.body.contact_id);
      }).catch(function () { cs.textContent = t("error"); });
    });
  }
})();
