// Refreshes the dashboard's live parts: each element with data-fragment is
// replaced by GET /ui/fragments/{name} every data-refresh milliseconds,
// unless the operator is using it (focus inside) or turned refreshing off.
// No library, no build step; the page works without this script.
"use strict";
(function () {
  var toggle = document.getElementById("auto-refresh");
  function refresh(el) {
    if (toggle && !toggle.checked) return;
    if (document.hidden || el.contains(document.activeElement)) return;
    var url = "/ui/fragments/" + el.dataset.fragment + (el.dataset.query ? "?" + el.dataset.query : "");
    el.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (res) {
        if (res.status === 401) { window.location.assign("/ui/login"); return null; }
        if (!res.ok) throw new Error(res.status + " " + res.statusText);
        return res.text();
      })
      .then(function (html) {
        if (html === null || el.contains(document.activeElement)) return;
        el.innerHTML = html;
        el.dataset.refreshed = String(Date.now());
        el.removeAttribute("data-error");
      })
      .catch(function (err) { el.dataset.error = String(err); })
      .finally(function () { el.removeAttribute("aria-busy"); });
  }
  document.querySelectorAll("[data-fragment]").forEach(function (el) {
    var every = parseInt(el.dataset.refresh, 10) || 5000;
    setInterval(function () { refresh(el); }, every);
  });
})();
