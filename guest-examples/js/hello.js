// Hello, in JavaScript: a status, a header and a body; ?name=X greets X.
export function handle(request, response) {
  const name = request.param("name") ?? "world";
  return { status: 200, headers: { "Content-Type": "text/plain" }, body: `Hello, ${name}!\n` };
}
