/* The login page: back to the page that sent us here (the server only follows same-site paths), and
 * the reason of a refused login (wrong name or password, a locked account, too many tries from here). */
(function () {
  "use strict";
  var MESSAGES = {
    not_authenticated: "用户名或密码错误，请重试。",
    account_locked: "该账号登录失败次数过多，已暂时锁定，请稍后再试，或联系安全管理员解锁。",
    too_many_attempts: "本机登录失败次数过多，请稍后再试。",
    forbidden: "登录须在本站的登录页进行。",
  };
  var params = new URLSearchParams(location.search);
  if (params.get("next")) document.getElementById("next").value = params.get("next");
  if (params.has("error")) {
    var box = document.getElementById("error");
    box.textContent = MESSAGES[params.get("error")] || MESSAGES.not_authenticated;
    box.classList.add("shown");
  }
})();
