import { invalidArgument } from './inference.error';

/**
 * Longest request id accepted. The id goes back in the x-request-id response header, and HTTP clients
 * refuse a response whose headers pass 16 KiB (Node's default): 1024 characters leaves room for the rest.
 */
export const MAX_REQUEST_ID_CHARS = 1024;

/**
 * Why `id` cannot be a request id, or undefined when it can. A request id must fit an HTTP header value
 * as every client reads it: printable Latin-1 (U+0020-U+007E, U+00A0-U+00FF), so no CR/LF, no other
 * control characters and nothing beyond U+00FF ("é" passes, "€" does not).
 */
export function requestIdProblem(id: string): string | undefined {
  if (id.length > MAX_REQUEST_ID_CHARS) return `is ${id.length} characters long; a request id has at most ${MAX_REQUEST_ID_CHARS}`;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if ((c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xff)) continue;
    const codePoint = (id.codePointAt(i) as number).toString(16).toUpperCase().padStart(4, '0');
    return `U+${codePoint} at index ${i} cannot go into an HTTP header; a request id must be printable Latin-1 text (U+0020-U+007E, U+00A0-U+00FF)`;
  }
  return undefined;
}

/** Refuses (400) a request id that `requestIdProblem` finds fault with; `field` names where it came from. */
export function checkRequestId(id: string | undefined, field: string): void {
  if (id === undefined) return;
  const problem = requestIdProblem(id);
  if (problem !== undefined) throw invalidArgument(`${field}: ${problem}`);
}
