// live.js: progressive enhancement for pages that show work in progress. Without it the
// page still works: it shows the progress as it was, and a reload shows it again.
//
// An element with data-live="URL" is replaced, every data-live-every milliseconds
// (default 2000), by the HTML fragment at URL: the same template the page itself
// renders, so the page and its updates can never disagree. Updates stop when the
// fragment carries data-live-done on any element. A failed request waits twice as long
// and tries again, so a restarting server does not stop the page.
(function () {
  "use strict";
  function follow(el) {
    var every = parseInt(el.getAttribute("data-live-every"), 10) || 2000;
    var url = el.getAttribute("data-live");
    var last = null;
    function tick(wait) {
      window.setTimeout(function () {
        fetch(url, { headers: { Accept: "text/html", "X-Crier-Live": "1" }, credentials: "same-origin", cache: "no-store" })
          .then(function (r) {
            if (!r.ok) { throw new Error("HTTP " + r.status); }
            return r.text();
          })
          .then(function (html) {
            // Swap only what changed: a screen reader re-reads a live region whenever
            // its content is replaced, even by the same words.
            if (html !== last) { el.innerHTML = html; last = html; }
            if (!el.querySelector("[data-live-done]")) { tick(every); }
          })
          .catch(function () { tick(Math.min(wait * 2, 30000)); });
      }, wait);
    }
    if (!el.querySelector("[data-live-done]")) { tick(every); }
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), follow);
})();
