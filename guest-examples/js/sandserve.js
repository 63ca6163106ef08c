// The handler world, shaped for JavaScript: a handler module exports
// `handle(request, response, writer)` and gets friendly objects — bytes as
// Uint8Array, text helpers, query and header lookup — and may return a body
// (a string or bytes) or `{status, reason, headers, body}`, or throw
// `new HttpError(code, message)`. scripts/build-js-guests.sh bundles a
// handler with this module into a component.
import { sleep as worldSleep } from "sandserve:handler/timing@0.3.0";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes of a string (UTF-8), or the bytes given. */
export function bytes(value) {
  return typeof value === "string" ? encoder.encode(value) : value;
}

/** The text of bytes (UTF-8), or undefined for undefined. */
export function text(value) {
  return value === undefined ? undefined : decoder.decode(value);
}

/** Waits, parked on the server (not counted as CPU time). */
export function sleep(ms) {
  worldSleep(BigInt(Math.round(ms * 1e6)));
}

/** An error answer: `throw new HttpError(404, "no such thing")`. */
export class HttpError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

class Request {
  constructor(raw) {
    this.raw = raw;
  }
  get method() { return this.raw.method(); }
  get path() { return this.raw.path(); }
  get target() { return this.raw.target(); }
  get url() { return this.raw.url(); }
  get queryString() { return this.raw.queryString(); }
  /** Every header, in order, as [name, value] strings. */
  headers() {
    return this.raw.headers().map((f) => [text(f.name), text(f.value)]);
  }
  /** The first value of a header (any case), as a string. */
  header(name) { return text(this.raw.header(name)); }
  /** The first value of a query parameter, as a string. */
  param(name) {
    const field = this.raw.query().find((f) => text(f.name) === name);
    return field ? text(field.value) : undefined;
  }
  /** The body, as bytes. */
  body() { return this.raw.body(); }
}

class Response {
  constructor(raw) {
    this.raw = raw;
  }
  status(code, reason) {
    this.raw.setStatus(code, reason === undefined ? undefined : bytes(reason));
    return this;
  }
  header(name, value) {
    this.raw.appendHeader(bytes(name), bytes(String(value)));
    return this;
  }
  body(value) {
    this.raw.setBody(bytes(value));
    return this;
  }
}

class Writer {
  constructor(raw) {
    this.world = raw;
  }
  // Each returns false once the client has gone.
  status(code, reason) {
    return ok(() => this.world.writeStatus(code, reason === undefined ? undefined : bytes(reason)));
  }
  header(name, value) { return ok(() => this.world.writeHeader(bytes(name), bytes(String(value)))); }
  endHeaders() { return ok(() => this.world.endHeaders(true)); }
  content(value) { return ok(() => this.world.writeContent(bytes(value))); }
  raw(value) { return ok(() => this.world.writeRaw(bytes(value))); }
}

function ok(write) {
  try {
    write();
    return true;
  } catch (e) {
    return false;
  }
}

/** The world's `handle`, calling a friendly `handle(request, response, writer)`. */
export function wrap(handler) {
  return function handle(request, response, writer) {
    const res = new Response(response);
    let result;
    try {
      result = handler(new Request(request), res, new Writer(writer));
    } catch (e) {
      const code = e instanceof HttpError ? e.code : 500;
      throw { code, message: String(e && e.message ? e.message : e) };
    }
    if (result === undefined || result === null) return;
    // (Bytes from the world may come from another realm than this
    // module's Uint8Array: ask whether they are a view, not instanceof.)
    if (typeof result === "string" || ArrayBuffer.isView(result)) {
      res.body(result);
      return;
    }
    if (result.status !== undefined) res.status(result.status, result.reason);
    for (const [name, value] of Object.entries(result.headers || {})) res.header(name, value);
    if (result.body !== undefined) res.body(result.body);
  };
}
