// The request's headers, in order, as JSON: [[name, value], ...].
export function handle(request, response) {
  return {
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(request.headers()),
  };
}
