// SEP-24 callback=postMessage: when the user closes the page, the wallet that opened it (its
// opener, else the page it is framed in) receives {"transaction": ...} as GET /transaction
// answers it, and the window closes.
(function () {
  var el = document.getElementById("sep24-done");
  var button = document.getElementById("close");
  if (!el || !button) return;
  var message = JSON.parse(el.getAttribute("data-transaction"));
  var target = window.opener || (window.parent !== window ? window.parent : null);
  button.addEventListener("click", function () {
    if (target) target.postMessage(message, "*");
    window.close();
  });
})();
