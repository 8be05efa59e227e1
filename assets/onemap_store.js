/* The store-down banner (pages.ids.STORE_BANNER): shown when a Dash callback is answered 503
 * with Retry-After (the store cannot be reached, web/errors.py), hidden again when one succeeds.
 * It watches the callbacks the page makes anyway: no request of its own. */
(function () {
  "use strict";

  var BANNER = "store-banner";
  var CALLBACK = "_dash-update-component";
  var original = window.fetch;
  if (!original) { return; }

  function show(down) {
    var banner = document.getElementById(BANNER);
    if (banner) { banner.hidden = !down; }
  }

  function target(input) {
    return typeof input === "string" ? input : (input && input.url) || "";
  }

  window.fetch = function (input) {
    var answer = original.apply(this, arguments);
    if (target(input).indexOf(CALLBACK) === -1) { return answer; }
    return answer.then(function (response) {
      if (response.status === 503 && response.headers.get("Retry-After")) {
        show(true);
      } else if (response.ok) {
        show(false);
      }
      return response;
    });
  };
}());
