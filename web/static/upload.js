/* Upload progress for the materials page. Each upload form is sent as it is (multipart, with
   its CSRF token and idempotency key) by XMLHttpRequest, whose upload progress events drive a
   <progress> bar and an aria-live line; a file over the limit is refused before it is sent.
   The console answers JSON with the page to go to, where its message waits. Without
   JavaScript the forms post the same way and the console redirects. */
(function () {
  "use strict";
  if (!window.FormData || !window.XMLHttpRequest) {
    return;
  }

  function attach(form) {
    var bar = form.querySelector("progress");
    var line = form.querySelector("[data-upload-status]");
    var buttons = form.querySelectorAll("button");

    function say(text) {
      if (line) {
        line.textContent = text;
      }
    }

    function enable(on) {
      Array.prototype.forEach.call(buttons, function (button) {
        button.disabled = !on;
      });
    }

    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      var limit = Number(form.getAttribute("data-max-bytes")) || 0;
      var file = input && input.files && input.files[0];
      event.preventDefault();
      if (file && limit && file.size > limit) {
        say(form.getAttribute("data-too-large"));
        return;
      }
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", function (progress) {
        if (!progress.lengthComputable) {
          return;
        }
        var percent = Math.round((progress.loaded / progress.total) * 100);
        if (bar) {
          bar.hidden = false;
          bar.value = percent;
        }
        say(form.getAttribute("data-progress").replace("{percent}", percent + "%"));
      });
      request.addEventListener("load", function () {
        var next = null;
        try {
          next = JSON.parse(request.responseText).location;
        } catch (ignored) {
          next = null;
        }
        // The console's message (done, or why not) waits on that page.
        window.location.assign(next || window.location.href);
      });
      request.addEventListener("error", function () {
        enable(true);
        if (bar) {
          bar.hidden = true;
        }
        say(form.getAttribute("data-failed"));
      });
      enable(false);
      request.send(new FormData(form));
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-upload]"), attach);
})();
