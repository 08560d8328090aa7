// The finder's "Near me" button: fill the latitude and longitude from the browser's
// location and search. Without this script (or without geolocation) the button stays
// hidden and the fields can be typed. The texts come translated from the page.
(function () {
  "use strict";

  function setUp() {
    var button = document.getElementById("near-me");
    if (!button || !("geolocation" in navigator)) {
      return;
    }
    var form = button.form;
    var status = document.getElementById("near-me-status");
    var lat = document.getElementById("id_lat");
    var long = document.getElementById("id_long");
    var region = document.getElementById("id_region");
    var postalCode = document.getElementById("id_postal_code");
    if (!form || !status || !lat || !long) {
      return;
    }

    function say(text) {
      status.textContent = text || "";
    }

    function clearPoint() {
      lat.value = "";
      long.value = "";
    }

    // A district or postal code chosen by hand replaces an earlier location, and the
    // other way round: a search looks in one place.
    if (region) {
      region.addEventListener("change", clearPoint);
    }
    if (postalCode) {
      postalCode.addEventListener("input", clearPoint);
    }

    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      say(button.dataset.locating);
      navigator.geolocation.getCurrentPosition(
        function (position) {
          button.disabled = false;
          button.removeAttribute("aria-busy");
          lat.value = position.coords.latitude.toFixed(4);
          long.value = position.coords.longitude.toFixed(4);
          if (region) {
            region.value = "";
          }
          if (postalCode) {
            postalCode.value = "";
          }
          say(button.dataset.found);
          if (typeof form.requestSubmit === "function") {
            form.requestSubmit();
          } else {
            form.submit();
          }
        },
        function (error) {
          button.disabled = false;
          button.removeAttribute("aria-busy");
          var denied = error && error.code === error.PERMISSION_DENIED;
          say(denied ? button.dataset.denied : button.dataset.unavailable);
          lat.focus();
        },
        { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 }
      );
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
