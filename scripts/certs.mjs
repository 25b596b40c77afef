// `npm run certs -- [--out DIR] [--hosts h1,h2] NAME...`: a development cluster CA and one certificate per
// component (subject CN = NAME), for mutual TLS on the control plane (CONTROL_TLS_CA/CERT/KEY). Production
// brings its own CA. Uses the openssl command line; writes only new files and never replaces one.
//   npm run certs -- controller cpu-0 cpu-1 gateway        # into .infergraph/certs
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function openssl(args) {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error('the openssl command is needed to make development certificates (Debian: apt-get install openssl)', { cause: err });
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString().trim() ?? err.message}`, { cause: err });
  }
}

/**
 * Makes `<out>/ca.crt` (+ `ca.key`) unless present, and `<name>.crt` + `<name>.key` for each name, valid for
 * 365 days as TLS server and client, with the hosts as subject alternative names. Refuses to replace a
 * file. Returns the paths written.
 */
export function makeCertificates({ out, names, hosts = ['localhost', '127.0.0.1', '::1'] }) {
  for (const name of names) if (!NAME.test(name)) throw new Error(`"${name}" is not a component name (letters, digits, . _ -)`);
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const file = (n) => path.join(out, n);
  const taken = names.flatMap((n) => [`${n}.crt`, `${n}.key`]).filter((f) => existsSync(file(f)));
  if (taken.length > 0) throw new Error(`not replacing existing files in ${out}: ${taken.join(', ')} (choose other names or another --out)`);
  const written = [];
  const work = mkdtempSync(path.join(os.tmpdir(), 'infergraph-certs-'));
  try {
    if (!existsSync(file('ca.crt')) || !existsSync(file('ca.key'))) {
      if (existsSync(file('ca.crt')) || existsSync(file('ca.key'))) throw new Error(`${out} has only one of ca.crt and ca.key: not replacing it`);
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file('ca.key')]);
      chmodSync(file('ca.key'), 0o600);
      openssl(['req', '-x509', '-new', '-key', file('ca.key'), '-subj', '/CN=infergraph development CA', '-days', '365', '-sha256', '-out', file('ca.crt'),
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
      written.push(file('ca.crt'), file('ca.key'));
    }
    const san = hosts.map((h) => (/^[\d.]+$/.test(h) || h.includes(':') ? `IP:${h}` : `DNS:${h}`)).join(',');
    const ext = path.join(work, 'ext.cnf');
    writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${san}\n`);
    for (const name of names) {
      const key = file(`${name}.key`);
      const csr = path.join(work, `${name}.csr`);
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
      chmodSync(key, 0o600);
      openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr]);
      openssl(['x509', '-req', '-in', csr, '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-set_serial', `0x${randomBytes(16).toString('hex')}`,
        '-days', '365', '-sha256', '-extfile', ext, '-out', file(`${name}.crt`)]);
      written.push(file(`${name}.crt`), key);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return written;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let out = '.infergraph/certs';
  let hosts;
  const names = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out') out = args[++i] ?? out;
    else if (args[i] === '--hosts') hosts = (args[++i] ?? '').split(',').filter((h) => h !== '');
    else if (args[i] === '--help' || args[i] === '-h') {
      names.length = 0;
      break;
    }
    else names.push(args[i]);
  }
  if (names.length === 0) {
    console.error('usage: npm run certs -- [--out DIR] [--hosts localhost,127.0.0.1] NAME...   (e.g. controller cpu-0 gateway)');
    process.exit(2);
  }
  try {
    const written = makeCertificates({ out: path.resolve(out), names, ...(hosts === undefined ? {} : { hosts }) });
    for (const f of written) console.log(`[certs] wrote ${path.relative(process.cwd(), f)}`);
    console.log(`[certs] controller: CONTROL_TLS_CA=${out}/ca.crt CONTROL_TLS_CERT=${out}/controller.crt CONTROL_TLS_KEY=${out}/controller.key (the same per component with its name)`);
  } catch (err) {
    console.error(`[certs] ${err.message}`);
    process.exit(1);
  }
}
