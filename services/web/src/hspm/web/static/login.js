// Reads the one-time sign-in code from the URL's fragment (which never reaches a server),
// removes it from the address bar and history, and posts it to the web service.
(function () {
  var params = new URLSearchParams(window.location.hash.slice(1));
  var code = params.get("code");
  var form = document.getElementById("login-code");
  if (!code || !form) { return; }
  history.replaceState(null, "", window.location.pathname);
  form.elements.code.value = code;
  form.submit();
})();
