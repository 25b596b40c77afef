/**
 * Whether a host name or address is this machine's loopback: `localhost`, 127.0.0.0/8 and ::1, bracketed
 * (`[::1]`, as in URLs) or IPv4-mapped (`::ffff:127.0.0.1`). Where the project tolerates plain text or an
 * open endpoint, it is only towards (or on) such a host.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  return m !== null && m.slice(1).every((octet) => Number(octet) <= 255);
}
