// Give the admin's autocomplete boxes (select2) the accessible name of their field's label:
// select2 names its combobox after the selected value, which is empty on an add page.
// select2 is set up by jQuery at some point after DOMContentLoaded, so watch for it.
(function () {
  function label() {
    document.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var holder = select.parentElement;
      if (!holder) { return; }
      var tag = document.querySelector('label[for="' + select.id + '"]');
      var name = tag ? tag.textContent.replace(/:\s*$/, "").trim() : select.name;
      holder.querySelectorAll(".select2-selection, .select2-selection__rendered").forEach(function (el) {
        if (el.getAttribute("aria-label") !== name) {
          el.setAttribute("aria-label", name);
          el.removeAttribute("aria-labelledby");  // it points at the (empty) selected value
        }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    label();
    new MutationObserver(label).observe(document.body, { childList: true, subtree: true });
  });
})();
