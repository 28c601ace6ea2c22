// Kartoteka UI: a few enhancements; every page works without them.
(function () {
  "use strict";

  // Live parts: an element with data-live-url is replaced by that fragment every few seconds
  // (paused while the tab is hidden). A 401 means the session ended: reload, which signs in again.
  function live(element) {
    var url = element.getAttribute("data-live-url");
    var every = parseInt(element.getAttribute("data-live-every") || "2000", 10);
    var busy = false;
    function refresh() {
      if (busy || document.hidden) return;
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (response.status === 401) { window.location.reload(); return null; }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html !== null && html !== undefined) element.innerHTML = html;
        })
        .catch(function () { /* offline for a moment: the next tick tries again */ })
        .then(function () { busy = false; });
    }
    window.setInterval(refresh, every);
  }

  // "/" jumps to the search box, as in most search tools (not while typing in a field).
  function slashFocusesSearch(event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var box = document.getElementById("q");
    if (box) { event.preventDefault(); box.focus(); box.select(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-url]"), live);
    document.addEventListener("keydown", slashFocusesSearch);
  });
})();
