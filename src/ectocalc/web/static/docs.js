// Swagger UI for /openapi.json; API calls carry the session's CSRF token.
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: false,
    requestInterceptor: function (request) {
      request.headers["X-CSRF-Token"] = token;
      return request;
    }
  });
});
