/* My account (/account): the copy button next to a token just created. Copies the value of
   the element named by the button's data-target; the button then says its data-done text. */
(function () {
  "use strict";

  function copied(button) {
    button.textContent = button.getAttribute("data-done") || button.textContent;
    button.classList.add("account-copied");
  }

  function fallback(field, button) {
    field.select();
    if (document.execCommand("copy")) { copied(button); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".account-copy");
    if (!button) { return; }
    var field = document.getElementById(button.getAttribute("data-target"));
    if (!field) { return; }
    event.preventDefault();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { copied(button); },
        function () { fallback(field, button); });
    } else {
      fallback(field, button);
    }
  });
}());
