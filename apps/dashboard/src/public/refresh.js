// Herald dashboard: keeps a page current without reloading it. A page that wants this says how
// often in <meta name="herald-refresh" content="seconds">; every so often its own URL is fetched
// again and the new <main> replaces the old one. Nothing is refreshed while the tab is hidden,
// while a form field has focus, or while text is selected, so reading and typing are never
// interrupted. Without this script (or with JavaScript off) every page works, just unrefreshed.
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="herald-refresh"]');
  var seconds = meta ? Number(meta.getAttribute('content')) : 0;
  if (!(seconds > 0)) return;

  function busy() {
    var active = document.activeElement;
    if (active && active.closest && active.closest('form') && active.tagName !== 'BUTTON')
      return true;
    var selection = window.getSelection && window.getSelection();
    return Boolean(selection && selection.toString());
  }

  function refresh() {
    if (document.hidden || busy()) return schedule();
    fetch(window.location.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (response) {
        // A lost session redirects to the sign-in form: show it by navigating, not by swapping.
        if (response.redirected || !response.ok) {
          window.location.reload();
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        var next = new DOMParser().parseFromString(html, 'text/html').querySelector('main');
        var current = document.querySelector('main');
        if (next && current && !busy()) current.replaceWith(document.importNode(next, true));
      })
      .catch(function () {
        // The dashboard is unreachable for a moment: try again at the next tick.
      })
      .then(schedule);
  }

  function schedule() {
    window.setTimeout(refresh, seconds * 1000);
  }

  schedule();
})();
