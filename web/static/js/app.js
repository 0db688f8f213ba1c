// skillcert front-end glue: answer sequence numbers and the server-owned timer.
(function () {
  "use strict";

  // Every answer carries a sequence number that only grows, so a re-sent or late request
  // can never overwrite a newer answer. The server's last number seeds it on each page.
  function sittingKey() {
    return "skillcert-seq-" + (document.body.dataset.sitting || "none");
  }

  function nextSeq() {
    var fromServer = Number(document.body.dataset.lastSeq || 0);
    var stored = Number(window.localStorage.getItem(sittingKey()) || 0);
    var seq = Math.max(fromServer, stored, Date.now()) + 1;
    window.localStorage.setItem(sittingKey(), String(seq));
    return seq;
  }

  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt.closest && event.detail.elt.closest("[data-answer-form]")) {
      event.detail.parameters.seq = nextSeq();
    }
  });

  // The timer shows the server's deadline; the browser clock is only used for the tick,
  // corrected by the offset between server and browser time at page load.
  function startTimer() {
    var timer = document.getElementById("timer");
    if (!timer) return;
    var deadline = Number(timer.dataset.deadlineMs);
    var offset = Number(timer.dataset.serverNowMs) - Date.now();
    var value = timer.querySelector(".timer-value");
    var announce = document.getElementById("timer-announce");
    var announced = {};
    var marks = [60, 30, 15, 10, 5, 1];

    function pad(n) { return n < 10 ? "0" + n : String(n); }

    function tick() {
      var left = Math.max(0, Math.floor((deadline - (Date.now() + offset)) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      value.textContent = h + ":" + pad(m) + ":" + pad(s);
      timer.classList.toggle("timer-low", left <= 300);
      var minutes = Math.ceil(left / 60);
      // Screen readers hear the time at a few marks, not every second.
      if (marks.indexOf(minutes) >= 0 && !announced[minutes] && left > 0) {
        announced[minutes] = true;
        announce.textContent = announce.dataset.template.replace("{m}", minutes);
      }
      if (left <= 0) {
        window.clearInterval(handle);
        window.location.assign(timer.dataset.expiredUrl);
      }
    }
    var handle = window.setInterval(tick, 1000);
    tick();
  }

  document.addEventListener("DOMContentLoaded", startTimer);
})();
