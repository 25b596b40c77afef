// Writes kubeconform schemas generated from a live API server's /openapi/v2 (built-in kinds and every
// established CRD), since kubeconform's remote schema registry is not reachable here.
//
// kubeconform facts this follows (v0.8.0 source): `-strict` only makes the YAML decoder reject duplicate
// keys and fills `{{ .StrictSuffix }}` with "-strict" in the location template; it does not forbid unknown
// fields itself. So the strict variant of each schema sets `additionalProperties: false` on every object
// with known properties. Schemas are compiled as draft-04 (siblings of `$ref` are ignored), and `format`
// is asserted (date-time, duration, ...). A schema that does not compile is reported as "could not find".
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

function getJson(url, { ca, token }) {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode} ${body.slice(0, 300)}`));
          else {
            try { resolve(JSON.parse(body)); } catch (err) { reject(new Error(`GET ${url}: not JSON (${err.message})`)); }
          }
        });
      })
      .on('error', reject);
  });
}

/** kubeconform's {{ .KindSuffix }}: "-" + first label of the group + "-" + version ("apps/v1" → "-apps-v1", "v1" → "-v1"). */
export function kindSuffix(group, version) {
  return group ? `-${group.split('.')[0].toLowerCase()}-${version.toLowerCase()}` : `-${version.toLowerCase()}`;
}

const isObjectType = (t) => t === 'object' || (Array.isArray(t) && t.includes('object'));

/**
 * One OpenAPI v2 schema node → draft-04 JSON schema. `nullable`: the API server accepts null for an
 * optional field, so optional primitives and maps may be null.
 */
function convert(node, { strict, nullable }) {
  if (node === null || typeof node !== 'object') return node;
  if (Array.isArray(node)) return node.map((n) => convert(n, { strict, nullable: false }));
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    // Descriptions and vendor extensions do not validate anything; leaving them out keeps files small.
    if (key === 'description' || key.startsWith('x-')) continue;
    if (key === 'properties') {
      const required = new Set(node.required ?? []);
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [name, convert(child, { strict, nullable: !required.has(name) })]),
      );
    } else if (key === 'additionalProperties' && typeof value === 'object') {
      out.additionalProperties = convert(value, { strict, nullable: false });
    } else if (key === 'items' || key === 'not') {
      out[key] = convert(value, { strict, nullable: false });
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key] = value.map((n) => convert(n, { strict, nullable: false }));
    } else {
      out[key] = value;
    }
  }
  if (node['x-kubernetes-int-or-string'] === true || node.format === 'int-or-string') {
    delete out.type;
    delete out.format;
    out.oneOf = [{ type: 'string' }, { type: 'integer' }, ...(nullable ? [{ type: 'null' }] : [])];
    return out;
  }
  if (typeof out.type === 'string' && nullable && !out.enum) out.type = [out.type, 'null'];
  const openByExtension = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (strict && out.properties && out.additionalProperties === undefined && !openByExtension && (out.type === undefined || isObjectType(out.type))) {
    out.additionalProperties = false;
  }
  return out;
}

function convertDefinition(name, def, strict) {
  // A Quantity is written as a number as often as a string ("cpu: 1").
  if (name === QUANTITY) return { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'null' }] };
  const primitive = typeof def.type === 'string' && def.type !== 'object' && def.type !== 'array';
  return convert(def, { strict, nullable: primitive });
}

function refsOf(node, into) {
  if (node === null || typeof node !== 'object') return into;
  if (Array.isArray(node)) {
    for (const n of node) refsOf(n, into);
    return into;
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#/definitions/')) into.add(value.slice('#/definitions/'.length));
    else refsOf(value, into);
  }
  return into;
}

/**
 * Fetches /openapi/v2 from the control plane and writes one standalone schema per group/version/kind,
 * in a permissive and a strict variant. Returns the `-schema-location` template for kubeconform.
 * @param {{server: string, caFile?: string, adminToken: string}} controlPlane
 * @param {string} outDir
 * @returns {Promise<string>}
 */
export async function writeKubeconformSchemas(controlPlane, outDir) {
  const ca = controlPlane.caFile ? readFileSync(controlPlane.caFile) : undefined;
  const doc = await getJson(`${controlPlane.server}/openapi/v2`, { ca, token: controlPlane.adminToken });
  const definitions = doc.definitions ?? {};
  outDir = path.resolve(outDir);

  // Which definitions each definition reaches, transitively (k8s types are recursive, e.g. JSONSchemaProps).
  const reach = new Map();
  const reachable = (name) => {
    if (reach.has(name)) return reach.get(name);
    const seen = new Set([name]);
    const queue = [name];
    while (queue.length > 0) {
      const current = queue.pop();
      for (const ref of refsOf(definitions[current] ?? {}, new Set())) {
        if (!seen.has(ref)) { seen.add(ref); queue.push(ref); }
      }
    }
    reach.set(name, seen);
    return seen;
  };
  const converted = { false: new Map(), true: new Map() };
  const get = (name, strict) => {
    const cache = converted[String(strict)];
    if (!cache.has(name)) cache.set(name, convertDefinition(name, definitions[name] ?? {}, strict));
    return cache.get(name);
  };

  let written = 0;
  const dirs = { false: path.join(outDir, 'standalone'), true: path.join(outDir, 'standalone-strict') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  for (const name of Object.keys(definitions).sort()) {
    const gvks = definitions[name]['x-kubernetes-group-version-kind'];
    if (!Array.isArray(gvks)) continue;
    for (const { group, version, kind } of gvks) {
      const apiVersion = group ? `${group}/${version}` : version;
      const file = `${kind.toLowerCase()}${kindSuffix(group, version)}.json`;
      for (const strict of [false, true]) {
        const shared = get(name, strict);
        const root = { ...shared, ...(shared.properties ? { properties: { ...shared.properties } } : {}) };
        // Pin apiVersion and kind, so a schema shared by several kinds (e.g. DeleteOptions) names exactly one.
        if (root.properties?.apiVersion) root.properties.apiVersion = { type: 'string', enum: [apiVersion] };
        if (root.properties?.kind) root.properties.kind = { type: 'string', enum: [kind] };
        const others = [...reachable(name)].filter((n) => n !== name).sort();
        // Refs to the root definition itself go through definitions as well, so keep it there too.
        root.definitions = Object.fromEntries([...others, name].map((n) => [n, get(n, strict)]));
        writeFileSync(path.join(dirs[String(strict)], file), JSON.stringify(root));
      }
      written += 1;
    }
  }
  if (written === 0) throw new Error(`writeKubeconformSchemas: ${controlPlane.server}/openapi/v2 has no definitions with x-kubernetes-group-version-kind`);
  return `${outDir}/standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`;
}
