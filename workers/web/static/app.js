// Kartoteka UI: a few enhancements; every page works without them.
(function () {
  "use strict";

  // Live parts: an element with data-live-url is replaced by that fragment every few seconds
  // (paused while the tab is hidden). A 401 means the session ended: reload, which signs in again.
  // While the server does not answer, a notice (data-live-stale) says the figures may be old.
  function live(element) {
    var url = element.getAttribute("data-live-url");
    var every = parseInt(element.getAttribute("data-live-every") || "2000", 10);
    var notice = document.createElement("p");
    notice.className = "notice error live-stale";
    notice.setAttribute("role", "status");
    notice.hidden = true;
    notice.textContent = element.getAttribute("data-live-stale") || "";
    element.parentNode.insertBefore(notice, element);
    var busy = false;
    function stale(yes) { notice.hidden = !yes; }
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
          stale(html === null);
        })
        .catch(function () { stale(true); /* the next tick tries again */ })
        .then(function () { busy = false; });
    }
    window.setInterval(refresh, every);
  }

  // A form is sent once: a second click while the first is on its way (a slow server) would
  // send the same correction again and be refused as someone else's change.
  function sendOnce(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || (form.method || "").toLowerCase() !== "post") return;
    if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
    form.setAttribute("data-sent", "1");
    form.setAttribute("aria-busy", "true");
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
    document.addEventListener("submit", sendOnce);
    // Back to a page from the browser's cache: its forms may be sent again.
    window.addEventListener("pageshow", function () {
      Array.prototype.forEach.call(document.querySelectorAll("form[data-sent]"), function (f) {
        f.removeAttribute("data-sent");
        f.removeAttribute("aria-busy");
      });
    });
  });
})();
