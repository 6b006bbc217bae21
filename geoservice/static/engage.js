// SPDX-License-Identifier: GPL-3.0-or-later
// The residents' pages, progressively enhanced: a character count for the reply, at most N
// ticks in a "pick up to N" question, and no double submission. Every page works without
// this script (the forms post as plain HTML forms).
'use strict';

(function () {
  function replyCounter() {
    const text = document.getElementById('reply-text');
    const count = document.getElementById('reply-count');
    if (!text || !count) return;
    const max = Number(text.dataset.max || 0);
    const update = () => {
      count.textContent = String(text.value.length);
      count.parentElement.classList.toggle('over', max > 0 && text.value.length > max);
    };
    text.addEventListener('input', update);
    update();
  }

  function pickLimits() {
    for (const set of document.querySelectorAll('fieldset.choices[data-max]')) {
      const max = Number(set.dataset.max);
      const boxes = Array.from(set.querySelectorAll('input[type=checkbox]'));
      const update = () => {
        const n = boxes.filter((b) => b.checked).length;
        for (const b of boxes) b.disabled = !b.checked && n >= max;
      };
      for (const b of boxes) b.addEventListener('change', update);
      update();
    }
  }

  function noDoubleSubmit() {
    for (const form of document.querySelectorAll('form')) {
      form.addEventListener('submit', () => {
        for (const b of form.querySelectorAll('button[type=submit]')) {
          b.disabled = true;
          b.textContent = 'Sending…';
        }
      });
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    replyCounter();
    pickLimits();
    noDoubleSubmit();
  });
})();
