import { CommandError } from './cli.command';

/**
 * A JSON answer from a gateway: a failure to connect, a non-2xx status (with the server's `error`) or a body
 * that is not JSON becomes a CommandError naming the URL. `on401`: what to tell the user instead of the
 * server's message when it asks for credentials.
 */
export async function getJson(url: string, init: RequestInit, options: { readonly on401?: string } = {}): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new CommandError(`cannot reach the gateway at ${url}: ${causeOf(err)}`);
  }
  const text = await res.text();
  if (res.status === 401 && options.on401 !== undefined) throw new CommandError(`${init.method ?? 'GET'} ${url}: 401: ${options.on401}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const message = (body as { error?: unknown } | undefined)?.error;
    throw new CommandError(`${init.method ?? 'GET'} ${url}: ${res.status} ${typeof message === 'string' ? message : text.slice(0, 500)}`);
  }
  if (body === undefined) throw new CommandError(`${url} answered ${res.status} with a body that is not JSON`);
  return body;
}

/** What went wrong under fetch's generic "fetch failed" (connection refused, reset...). */
export function causeOf(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
}
