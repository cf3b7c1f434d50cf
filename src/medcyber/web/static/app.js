// medcyber pages: progressive enhancement only. Every form also works without this file.
(function () {
  "use strict";
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  // htmx requests carry the CSRF token in a header (plain forms carry it as a hidden field).
  document.addEventListener("htmx:configRequest", function (evt) {
    evt.detail.headers["X-CSRF-Token"] = csrf();
  });

  // Forms marked data-swap-errors show a refusal (400, 409, 413, 422: the message) where the answer goes.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr ? evt.detail.xhr.status : 0;
    var elt = evt.detail.requestConfig ? evt.detail.requestConfig.elt : evt.detail.elt;
    if ([400, 409, 413, 422].indexOf(status) >= 0 && elt && elt.closest && elt.closest("[data-swap-errors]")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  // Drag-and-drop upload with a progress bar: any form[data-upload] with a file input and a <progress>.
  function setupUpload(form) {
    var input = form.querySelector('input[type="file"]');
    var zone = form.querySelector("[data-dropzone]") || form;
    var bar = form.querySelector("progress");
    var status = form.querySelector("[data-upload-status]");
    var target = document.querySelector(form.getAttribute("data-upload-target") || "#upload-result");
    if (!input) return;
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        var name = form.querySelector("[data-file-name]");
        if (name) name.textContent = e.dataTransfer.files[0].name;
      }
    });
    input.addEventListener("change", function () {
      var name = form.querySelector("[data-file-name]");
      if (name && input.files.length) name.textContent = input.files[0].name;
    });
    form.addEventListener("submit", function (e) {
      if (!window.XMLHttpRequest || !window.FormData) return; // plain form post
      e.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open(form.method || "POST", form.action);
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.setRequestHeader("HX-Request", "true");
      if (bar) { bar.hidden = false; bar.value = 0; }
      xhr.upload.addEventListener("progress", function (p) {
        if (bar && p.lengthComputable) bar.value = Math.round((100 * p.loaded) / p.total);
        if (status) status.textContent = p.lengthComputable ? "Uploading… " + Math.round((100 * p.loaded) / p.total) + "%" : "Uploading…";
      });
      xhr.upload.addEventListener("load", function () { if (status) status.textContent = "Checking the file…"; });
      xhr.addEventListener("load", function () {
        if (bar) bar.value = 100;
        if (status) status.textContent = xhr.status < 300 ? "Done." : "The upload was refused (" + xhr.status + ").";
        if (target) {
          target.innerHTML = xhr.responseText;
          if (window.htmx) window.htmx.process(target);
        }
        var redirect = xhr.getResponseHeader("HX-Redirect");
        if (redirect && xhr.status < 300) window.location.assign(redirect);
      });
      xhr.addEventListener("error", function () { if (status) status.textContent = "The upload failed: network error."; });
      xhr.send(new FormData(form));
    });
  }
  // One-time secrets (a new API token, a temporary password): select on focus, and a Copy button.
  function setupCopy(root) {
    root.querySelectorAll("input[data-select-on-focus]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      var source = document.querySelector(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.value).then(function () {
          button.textContent = "Copied";
        }, function () {
          source.select();
          button.textContent = "Press Ctrl+C";
        });
      });
    });
  }
  function init(root) {
    (root || document).querySelectorAll("form[data-upload]").forEach(setupUpload);
    setupCopy(root || document);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
