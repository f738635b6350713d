/* Autosave of the Annex 2 form: a moment after the applicant stops typing, the fields that
   changed are posted to the form's own action with the CSRF token and `X-Requested-With`; the
   console saves only those fields and answers JSON. What happened is said in the form's
   aria-live region ("Saved at 14:05"). Without JavaScript the Save button does the same. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var region = document.getElementById(form.getAttribute("data-status"));
  var PAUSE = 1500;
  var pending = {};
  var timer = null;
  var busy = false;

  function say(text) {
    if (region) {
      region.textContent = text;
    }
  }

  function valueOf(element) {
    if (element.type === "checkbox") {
      return element.checked ? "true" : "false";
    }
    return element.value;
  }

  function note(event) {
    var element = event.target;
    if (!element.name || element.type === "hidden" || element.disabled) {
      return;
    }
    pending[element.name] = element;
    clearTimeout(timer);
    timer = setTimeout(save, PAUSE);
  }

  function save() {
    var names = Object.keys(pending);
    if (!names.length) {
      return;
    }
    if (busy) {
      timer = setTimeout(save, PAUSE);
      return;
    }
    var sent = pending;
    pending = {};
    var body = new FormData();
    body.append("csrf_token", form.elements.csrf_token.value);
    names.forEach(function (name) {
      body.append(name, valueOf(sent[name]));
    });
    busy = true;
    say(form.getAttribute("data-saving"));
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest", "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (answer) {
        return { ok: response.ok, answer: answer };
      }, function () {
        return { ok: false, answer: {} };
      });
    }).then(function (result) {
      busy = false;
      if (result.ok && result.answer.saved) {
        say(result.answer.message);
        return;
      }
      var answer = result.answer || {};
      say(answer.message ? answer.message + " " + (answer.next_step || "") : form.getAttribute("data-failed"));
    }, function () {
      busy = false;
      // Not sent: keep what the applicant typed for the next try (unless typed over since).
      names.forEach(function (name) {
        if (!pending[name]) {
          pending[name] = sent[name];
        }
      });
      say(form.getAttribute("data-failed"));
    });
  }

  form.addEventListener("input", note);
  form.addEventListener("change", note);
  form.addEventListener("submit", function () {
    clearTimeout(timer); // the whole form goes with the Save button
    pending = {};
  });
})();
