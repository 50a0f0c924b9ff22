/* Flask-Admin's widgets speak English whatever the page's language: the date picker (month and day names, Apply,
   Cancel, From, To, the " to " between a range's dates), the select boxes ("No matches found") and the collapsed
   menu's button label. Loaded after jQuery and select2 and before Flask-Admin's form.js styles the fields, this
   hands them the reader's words (this tag's data-words, from web/common/widget_words.py). */
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
    // A range filter's two dates are joined by the reader's word (至); Flask-Admin's filters read " to ", so a
    // range the server sent back is shown in the reader's words and a form sends it in the server's.
    var sent = " to ";
    var between = words.date_range_separator;
    $(function () {
      var picker = $.fn.daterangepicker;
      if (!picker) { return; }
      $.fn.daterangepicker = function (options, done) {
        var given = options || {};
        var mine = { locale: $.extend({}, words.date_picker, given.locale) };
        if (given.separator === sent) {
          mine.separator = between;
          this.each(function () { this.value = this.value.split(sent).join(between); });
        }
        return picker.call(this, $.extend({}, given, mine), done);
      };
      $(document).on("submit", "form", function () {
        $(this).find("input").each(function () {
          var range = $(this).data("daterangepicker");
          if (range && range.separator === between) { this.value = this.value.split(between).join(sent); }
        });
      });
    });
  }
})(window.jQuery);
