/* Image captcha: "换一张" fetches a new challenge without reloading the page (the typed fields stay). */
(function () {
  "use strict";

  function refresh(box) {
    var request = new XMLHttpRequest();
    request.open("GET", box.getAttribute("data-refresh-url"));
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    request.responseType = "json";
    request.onload = function () {
      if (request.status !== 200 || !request.response) {
        return;
      }
      var data = request.response;
      box.querySelector("input[type=hidden]").value = data.key;
      box.querySelector("[data-captcha-image]").src = data.image_url;
      var answer = box.querySelector("input[type=text]");
      answer.value = "";
      answer.focus();
    };
    request.send();
  }

  document.querySelectorAll("[data-captcha]").forEach(function (box) {
    box.querySelector("[data-captcha-refresh]").addEventListener("click", function () {
      refresh(box);
    });
    box.querySelector("[data-captcha-image]").addEventListener("click", function () {
      refresh(box);
    });
  });
})();
