// Written raw through the writer: a status line no well-behaved server
// sends, a header, then the body in two parts with a pause between them
// (?pause_ms=N, default 200).
import { sleep } from "./sandserve.js";

export function handle(request, response, writer) {
  const pause = Number(request.param("pause_ms") ?? "200");
  writer.raw("HTTP/1.1 299 Very Unusual\r\nContent-Length: 12\r\n\r\n");
  writer.raw("first ");
  sleep(pause);
  writer.raw("second");
}
