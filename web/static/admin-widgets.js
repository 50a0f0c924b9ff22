/* Flask-Admin's widgets speak English whatever the page's language: the date picker (month and day names, Apply,
   Cancel, From, To), the select boxes ("No matches found") and the collapsed menu's button label. Loaded after
   jQuery and select2 and before Flask-Admin's form.js styles the fields, this hands them the reader's words
   (this tag's data-words, from web/common/widget_words.py). */
(function ($) {
  "use strict";
  var words = JSON.parse(document.currentScript.dataset.words);
  var select = words.select;

  function counted(text) {
    return function (count) { return text.replace("{count}", count); };
  }

  var toggler = document.querySelector(".navbar-toggler");
  if (toggler) { toggler.setAttribute("aria-label", words.toggle_navigation); }

  if ($ && $.fn.select2) {
    $.extend($.fn.select2.defaults, {
      formatNoMatches: function () { return select.no_matches; },
      formatSearching: function () { return select.searching; },
      formatLoadMore: function () { return select.load_more; },
      formatAjaxError: function () { return select.failed; },
      formatInputTooShort: function (input, min) { return counted(select.too_short)(min - input.length); },
      formatSelectionTooBig: counted(select.too_many),
      formatMatches: counted(select.matches)
    });
  }

  if ($) {
    // daterangepicker.js comes later on the page (with Flask-Admin's form scripts), and form.js makes its pickers
    // when the document is ready: this handler, registered first, runs first and gives every picker the locale.
    $(function () {
      var picker = $.fn.daterangepicker;
      if (!picker) { return; }
      $.fn.daterangepicker = function (options, done) {
        var given = options || {};
        var locale = $.extend({}, words.date_picker, given.locale);
        return picker.call(this, $.extend({}, given, { locale: locale }), done);
      };
    });
  }
})(window.jQuery);
