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
  // corrected by the offset between server and browser time. While a supervisor holds the
  // sitting the server's frozen time left is shown and nothing counts down.
  // proctor.js calls window.skillcertTimer.update() with every state the server pushes.
  function startTimer() {
    var timer = document.getElementById("timer");
    if (!timer) return;
    var state = {
      deadline: Number(timer.dataset.deadlineMs),
      offset: Number(timer.dataset.serverNowMs) - Date.now(),
      paused: timer.dataset.paused === "true",
      frozenLeft: Number(timer.dataset.secondsLeft || 0)
    };
    var value = timer.querySelector(".timer-value");
    var pausedMark = timer.querySelector(".timer-paused-mark");
    var announce = document.getElementById("timer-announce");
    var announced = {};
    var marks = [60, 30, 15, 10, 5, 1];
    var handle = null;

    function pad(n) { return n < 10 ? "0" + n : String(n); }

    function secondsLeft() {
      if (state.paused) return state.frozenLeft;
      return Math.max(0, Math.floor((state.deadline - (Date.now() + state.offset)) / 1000));
    }

    function tick() {
      var left = secondsLeft();
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      value.textContent = h + ":" + pad(m) + ":" + pad(s);
      timer.classList.toggle("timer-low", left <= 300);
      timer.classList.toggle("timer-paused", state.paused);
      timer.dataset.paused = state.paused ? "true" : "false";
      if (pausedMark) pausedMark.hidden = !state.paused;
      var minutes = Math.ceil(left / 60);
      // Screen readers hear the time at a few marks, not every second.
      if (!state.paused && marks.indexOf(minutes) >= 0 && !announced[minutes] && left > 0) {
        announced[minutes] = true;
        announce.textContent = announce.dataset.template.replace("{m}", minutes);
      }
      if (left <= 0 && !state.paused) {
        window.clearInterval(handle);
        window.location.assign(timer.dataset.expiredUrl);
      }
    }

    window.skillcertTimer = {
      // state from the server: deadline_ms, server_now_ms, paused, seconds_left
      update: function (server) {
        if (server.deadline_ms) state.deadline = Number(server.deadline_ms);
        if (server.server_now_ms) state.offset = Number(server.server_now_ms) - Date.now();
        state.paused = !!server.paused;
        state.frozenLeft = Number(server.seconds_left || 0);
        timer.dataset.deadlineMs = String(state.deadline);
        var minutesNow = Math.ceil(secondsLeft() / 60);
        Object.keys(announced).forEach(function (mark) {  // after an extension, marks come round again
          if (Number(mark) < minutesNow) delete announced[mark];
        });
        tick();
      },
      announce: function (text) { announce.textContent = text; }
    };
    handle = window.setInterval(tick, 1000);
    tick();
  }

  document.addEventListener("DOMContentLoaded", startTimer);
})();
