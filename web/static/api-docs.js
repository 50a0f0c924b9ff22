// Starts Swagger UI on the description at /openapi.json (a file, not inline script: the CSP allows 'self' only).
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: root.dataset.spec, dom_id: "#swagger-ui", deepLinking: true });
});
