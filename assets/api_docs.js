/* Swagger UI for /api/v1/openapi.json, from the vendored bundle: no validator badge (it would
   send the document to an outside service), no external links followed. */
window.addEventListener("load", function () {
  window.SwaggerUIBundle({
    url: "/api/v1/openapi.json", dom_id: "#swagger-ui", validatorUrl: null,
    deepLinking: true, defaultModelsExpandDepth: 0, tryItOutEnabled: false,
  });
});
