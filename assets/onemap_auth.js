/* Sign out: POST /logout with the CSRF token of the session cookie pair, then the login page. */
(function () {
  "use strict";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)_csrf_token=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("#logout-button");
    if (!button) { return; }
    event.preventDefault();
    /* The offline page's caches hold this account's data: drop them now (the answer's
     * Clear-Site-Data drops them too, with the queue and the service worker). */
    var worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (worker) { worker.postMessage({type: "forget"}); }
    fetch("/logout", {method: "POST", credentials: "same-origin",
                      headers: {"X-CSRFToken": csrfToken()}})
      .finally(function () { window.location.assign("/login"); });
  });
}());
