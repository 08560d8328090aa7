// The verify page: read a QR code from a photo or the camera with jsQR, in the browser, and
// submit what it holds as text. DIVOC's QR holds a ZIP archive as raw bytes, which no text
// can carry: it goes as "B64:" and base64. Without this script the page is a plain form.
(function () {
  "use strict";

  var form = document.getElementById("verify-form");
  var tools = document.getElementById("verify-tools");
  if (!form || !tools || typeof window.jsQR !== "function") {
    return;
  }
  var textarea = document.getElementById("id_text");
  var photo = document.getElementById("id_photo");
  var status = document.getElementById("verify-status");
  var cameraButton = document.getElementById("verify-camera");
  var stopButton = document.getElementById("verify-stop");
  var video = document.getElementById("verify-video");
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var stream = null;
  // Photos from phones are large; a QR code is still readable at this size, and faster.
  var MAX_SIDE = 1600;

  tools.hidden = false;

  function say(key) {
    status.textContent = form.getAttribute("data-msg-" + key) || "";
  }

  function isZip(bytes) {
    return bytes.length > 4 && bytes[0] === 0x50 && bytes[1] === 0x4b &&
      bytes[2] === 0x03 && bytes[3] === 0x04;
  }

  function base64(bytes) {
    var binary = "";
    for (var i = 0; i < bytes.length; i += 1) {
      binary += String.fromCharCode(bytes[i]);
    }
    return window.btoa(binary);
  }

  function content(code) {
    var bytes = code.binaryData || [];
    if (isZip(bytes)) {
      return "B64:" + base64(bytes);
    }
    return code.data;
  }

  function submit(text) {
    textarea.value = text;
    say("found");
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  function readPixels(source, width, height, scale, inversion) {
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    context.drawImage(source, 0, 0, canvas.width, canvas.height);
    var pixels = context.getImageData(0, 0, canvas.width, canvas.height);
    return window.jsQR(pixels.data, pixels.width, pixels.height, {
      inversionAttempts: inversion,
    });
  }

  function readImage(image) {
    var width = image.naturalWidth;
    var height = image.naturalHeight;
    var fit = Math.min(1, MAX_SIDE / Math.max(width, height));
    // A small screenshot may need its full size; a large photo reads better shrunk.
    var scales = [fit, fit / 2];
    for (var i = 0; i < scales.length; i += 1) {
      var code = readPixels(image, width, height, scales[i], "attemptBoth");
      if (code) {
        return code;
      }
    }
    return null;
  }

  photo.addEventListener("change", function () {
    var file = photo.files && photo.files[0];
    if (!file) {
      return;
    }
    say("reading");
    var url = URL.createObjectURL(file);
    var image = new Image();
    image.onload = function () {
      URL.revokeObjectURL(url);
      var code = readImage(image);
      if (code) {
        submit(content(code));
      } else {
        say("no-code");
      }
    };
    image.onerror = function () {
      URL.revokeObjectURL(url);
      say("not-image");
    };
    image.src = url;
  });

  function stopCamera() {
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
    }
    video.hidden = true;
    stopButton.hidden = true;
    cameraButton.hidden = false;
    cameraButton.focus();
  }

  function scanFrame() {
    if (!stream) {
      return;
    }
    if (video.readyState >= video.HAVE_ENOUGH_DATA && video.videoWidth) {
      var fit = Math.min(1, 800 / Math.max(video.videoWidth, video.videoHeight));
      var code = readPixels(video, video.videoWidth, video.videoHeight, fit, "dontInvert");
      if (code) {
        var text = content(code);
        stopCamera();
        submit(text);
        return;
      }
    }
    window.requestAnimationFrame(scanFrame);
  }

  if (navigator.mediaDevices && typeof navigator.mediaDevices.getUserMedia === "function") {
    cameraButton.hidden = false;
    cameraButton.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (media) {
          stream = media;
          video.srcObject = media;
          video.hidden = false;
          cameraButton.hidden = true;
          stopButton.hidden = false;
          stopButton.focus();
          say("scanning");
          return video.play();
        })
        .then(function () { window.requestAnimationFrame(scanFrame); })
        .catch(function () {
          stopCamera();
          say("no-camera");
        });
    });
    stopButton.addEventListener("click", function () {
      stopCamera();
      status.textContent = "";
    });
  }

  var result = document.getElementById("verify-result-section");
  if (result) {
    result.focus();
  }
})();
