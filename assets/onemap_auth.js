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
    fetch("/logout", {method: "POST", credentials: "same-origin",
                      headers: {"X-CSRFToken": csrfToken()}})
      .finally(function () { window.location.assign("/login"); });
  });
}());
