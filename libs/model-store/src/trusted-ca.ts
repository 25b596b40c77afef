import tls from 'node:tls';

/** tls.getCACertificates (Node >= 22.15 / 23.5): the system store and NODE_EXTRA_CA_CERTS as PEM lists. */
type CaGetter = (type: 'default' | 'system' | 'bundled' | 'extra') => string[];

/**
 * The CA certificates to trust for model downloads, or undefined for Node's own default (its bundled roots,
 * or the system store under --use-openssl-ca, plus NODE_EXTRA_CA_CERTS). An extra bundle is added to that
 * set, never put in its place: verification always stays on.
 */
export function trustedCertificates(extraCa: string | undefined): string[] | undefined {
  if (extraCa === undefined) return undefined;
  const get = (tls as unknown as { getCACertificates?: CaGetter }).getCACertificates;
  // Before Node 22.15 the default set cannot be read; the bundled roots stand in for it.
  const base = get === undefined ? [...tls.rootCertificates] : [...get('default'), ...get('system')];
  return [...new Set(base), extraCa];
}
