// The stash from JavaScript: ?action=put&key=UUID&value=V stores V;
// ?action=take&key=UUID returns it once (then 404). A store out of reach
// is a 503; another refusal a 409 naming it.
import { put, take } from "sandserve:handler/stash@0.3.0";
import { HttpError, bytes } from "./sandserve.js";

export function handle(request) {
  const key = request.param("key");
  try {
    if (request.param("action") === "put") {
      put(key, bytes(request.param("value") ?? ""), undefined);
      return "stored";
    }
    const value = take(key, undefined);
    if (value === undefined) throw new HttpError(404, "nothing stashed under that key");
    return value;
  } catch (e) {
    if (e instanceof HttpError) throw e;
    const refusal = e.payload ?? {};
    throw new HttpError(refusal.tag === "unavailable" ? 503 : 409, `stash: ${refusal.tag ?? e}`);
  }
}
