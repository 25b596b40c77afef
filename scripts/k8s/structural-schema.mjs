// Turns a JSON Schema (zod 4's `z.toJSONSchema(..., { target: 'openapi-3.0' })`) into a Kubernetes
// *structural* OpenAPI v3 schema, the only kind an apiextensions.k8s.io/v1 CRD accepts:
// https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema
//
// Pure: no I/O, deterministic. What the API server cannot check is loosened, never tightened (a CRD that
// refused a valid graph would be worse than one that lets the operator report it), and every loosening
// is returned in `losses` with the path and what is no longer checked there, so the generated CRDs and
// docs/kubernetes.md can say it. The operator validates the whole object with the zod schema anyway.

/** Value checks the API server runs (kube-openapi), copied as they are. */
const STRING_KEYS = ['pattern', 'minLength', 'maxLength', 'format'];
const NUMBER_KEYS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'];
const ARRAY_KEYS = ['minItems', 'maxItems'];
const OBJECT_KEYS = ['minProperties', 'maxProperties', 'required'];
const VALUE_KEYS = ['enum', ...STRING_KEYS, ...NUMBER_KEYS, ...ARRAY_KEYS, ...OBJECT_KEYS];
/** Formats kube-apiserver validates; others (zod's email, uri...) would be ignored with a warning, so they are dropped. */
const KNOWN_FORMATS = new Set(['date-time', 'date', 'uuid', 'byte', 'int32', 'int64', 'float', 'double', 'hostname', 'ipv4', 'ipv6', 'cidr']);
/** JSON Schema annotations with no meaning to the API server. */
const IGNORED_KEYS = new Set(['$schema', '$id', 'id', 'title', 'examples', 'readOnly', 'writeOnly', 'deprecated', '$comment', 'propertyNames']);

const TYPE_KEYS = { string: STRING_KEYS, number: NUMBER_KEYS, integer: NUMBER_KEYS, array: ARRAY_KEYS, object: OBJECT_KEYS, boolean: [] };

/**
 * @param {object} jsonSchema a JSON Schema in OpenAPI 3.0 form ($defs/$ref allowed, no cycles)
 * @param {{ path?: string }} [options] the path printed in losses and errors (default: the root, "")
 * @returns {{ schema: object, losses: { path: string, loss: string }[] }}
 */
export function toStructuralSchema(jsonSchema, options = {}) {
  const losses = [];
  const context = { root: jsonSchema, losses, resolving: [] };
  const converted = convert(jsonSchema, options.path ?? '', context);
  return { schema: sortKeys(dropStrictMarkers(converted)), losses: sortLosses(losses) };
}

function convert(node, path, context) {
  if (node === true || node === undefined) return anyValue(path, context, 'any value');
  if (node === false) throw new Error(`${where(path)}: a schema that accepts nothing cannot be a CRD field`);
  if (typeof node.$ref === 'string') return convert(resolveRef(node.$ref, path, context), path, { ...context, resolving: [...context.resolving, node.$ref] });
  if (Array.isArray(node.allOf)) {
    if (node.allOf.length !== 1) throw new Error(`${where(path)}: allOf (an intersection) is not supported; give the field one schema`);
    const { allOf, ...rest } = node;
    return convert({ ...rest, ...allOf[0] }, path, context);
  }
  if (node.not !== undefined) throw new Error(`${where(path)}: "not" is not supported`);
  const union = node.anyOf ?? node.oneOf;
  if (Array.isArray(union)) {
    const { anyOf: _a, oneOf: _o, ...outer } = node;
    const merged = unionOf(union, path, context);
    return withAnnotations(merged, outer, path, context);
  }
  if (node.const !== undefined) return convert({ ...withoutKeys(node, ['const']), enum: [node.const], type: node.type ?? jsonTypeOf(node.const) }, path, context);
  if (Array.isArray(node.type)) {
    // JSON Schema's type lists are unions in disguise.
    const { type, ...rest } = node;
    return convert({ ...rest, anyOf: type.map((t) => ({ type: t })) }, path, context);
  }
  if (node.type === undefined) {
    if (Array.isArray(node.enum)) return convert({ ...node, anyOf: groupEnumByType(node.enum), enum: undefined }, path, context);
    return withAnnotations(anyValue(path, context, 'any value'), node, path, context);
  }
  switch (node.type) {
    case 'object':
      return objectOf(node, path, context);
    case 'array':
      return arrayOf(node, path, context);
    case 'string':
    case 'number':
    case 'integer':
    case 'boolean':
      return scalarOf(node, path, context);
    case 'null':
      throw new Error(`${where(path)}: a field that can only be null cannot be a CRD field`);
    default:
      throw new Error(`${where(path)}: unknown type ${JSON.stringify(node.type)}`);
  }
}

function scalarOf(node, path, context) {
  const out = { type: node.type };
  copyValueKeys(node, out, TYPE_KEYS[node.type], path, context);
  if (Array.isArray(node.enum)) out.enum = [...node.enum];
  return withAnnotations(out, node, path, context);
}

function arrayOf(node, path, context) {
  const out = { type: 'array' };
  const items = node.prefixItems ?? node.items;
  if (Array.isArray(items)) {
    // A tuple: the CRD checks the length, and every position against the union of the positions' schemas.
    out.items = unionOf(items, `${path}[]`, context);
    if (items.length > 1 && !items.every((i) => deepEqual(i, items[0]))) context.losses.push({ path: `${path}[]`, loss: 'a tuple: each position is checked against the union of all positions' });
  } else if (items !== undefined) {
    out.items = convert(items, `${path}[]`, context);
  } else {
    out.items = anyValue(`${path}[]`, context, 'any items');
  }
  copyValueKeys(node, out, ARRAY_KEYS, path, context);
  if (node.uniqueItems === true) context.losses.push({ path, loss: 'uniqueItems: duplicates are not refused (CRDs forbid uniqueItems)' });
  return withAnnotations(out, node, path, context);
}

function objectOf(node, path, context) {
  const out = { type: 'object' };
  const properties = node.properties ?? {};
  const names = Object.keys(properties);
  if (names.length > 0) {
    out.properties = {};
    for (const name of names) out.properties[name] = convert(properties[name], `${path}.${name}`, context);
  }
  copyValueKeys(node, out, OBJECT_KEYS, path, context);
  const extra = node.additionalProperties;
  if (extra === false) {
    // Strict: the API server prunes unknown fields, and kubectl's default field validation (Strict) refuses
    // them; a CRD may not say additionalProperties: false. Marked for unionOf, dropped at the end.
    out[STRICT] = true;
  } else if (extra === true || isEmptySchema(extra)) {
    // A loose object (z.looseObject): unknown fields are kept as they are.
    out['x-kubernetes-preserve-unknown-fields'] = true;
  } else if (extra !== undefined) {
    if (names.length > 0) throw new Error(`${where(path)}: an object with both properties and additionalProperties cannot be a CRD field`);
    out.additionalProperties = convert(extra, `${path}.*`, context);
  }
  // No additionalProperties (z.object): unknown fields are stripped, and the API server prunes them.
  return withAnnotations(out, node, path, context);
}

/** One structural schema for the alternatives of a union. */
function unionOf(branches, path, context) {
  let nullable = false;
  const flat = [];
  for (const b of branches) {
    const nested = b?.anyOf ?? b?.oneOf;
    if (Array.isArray(nested) && Object.keys(b).every((k) => k === 'anyOf' || k === 'oneOf')) flat.push(...nested);
    else if (b?.type === 'null') nullable = true;
    else flat.push(b);
  }
  const converted = dedupe(flat.map((b) => convert(b, path, context)));
  let out;
  if (converted.length === 0) throw new Error(`${where(path)}: a union of nothing but null cannot be a CRD field`);
  else if (converted.length === 1) out = converted[0];
  else out = mergeConverted(converted, path, context);
  if (nullable || converted.some((c) => c.nullable === true)) out.nullable = true;
  return out;
}

function mergeConverted(converted, path, context) {
  if (converted.length === 1) return converted[0];
  if (converted.some((c) => c.type === undefined && c['x-kubernetes-int-or-string'] !== true)) return anyValue(path, context, 'a union with an unchecked alternative: any value');
  // An int-or-string alternative is two alternatives.
  const parts = converted.flatMap((c) => (c['x-kubernetes-int-or-string'] === true ? splitIntOrString(c) : [c]));
  const types = new Set(parts.map((c) => c.type));
  if (types.size === 2 && types.has('integer') && types.has('number')) {
    context.losses.push({ path, loss: 'integer or number: any number passes' });
    return mergeConverted(parts.map((c) => ({ ...c, type: 'number' })), path, context);
  }
  if (types.size === 1) {
    const [type] = types;
    if (type === 'object') return mergeObjects(parts, path, context);
    if (type === 'array') return mergeArrays(parts, path, context);
    return mergeScalars(parts, type);
  }
  if (types.size === 2 && types.has('integer') && types.has('string')) return intOrString(parts, path, context);
  return looseUnion(parts, path, context);
}

/**
 * The one union the API server types: int-or-string, in the only form it allows (anyOf of the two bare
 * types). Each alternative's checks sit beside it, where they apply to their own JSON type only (a pattern
 * to strings, bounds to integers).
 */
function intOrString(parts, path, context) {
  const out = { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] };
  const dropped = copyTypeChecks(parts, out);
  if (dropped.length > 0) context.losses.push({ path, loss: `integer or string: ${dropped.join('; ')}` });
  return out;
}

/** An int-or-string node back into its two alternatives, each with the checks that apply to it. */
function splitIntOrString(node) {
  const pick = (keys) => Object.fromEntries(keys.filter((k) => node[k] !== undefined).map((k) => [k, node[k]]));
  return [
    { type: 'integer', ...pick(NUMBER_KEYS) },
    { type: 'string', ...pick(STRING_KEYS) },
  ];
}

/** Copies each JSON type's checks onto an untyped node; returns what could not be kept. */
function copyTypeChecks(parts, out) {
  const dropped = [];
  const families = new Map();
  for (const p of parts) {
    const family = p.type === 'integer' ? 'number' : p.type;
    families.set(family, [...(families.get(family) ?? []), p]);
  }
  for (const [family, members] of [...families].sort(([a], [b]) => a.localeCompare(b))) {
    if (members.length > 1) {
      dropped.push(`the ${family} alternatives' checks are not kept (more than one ${family} alternative)`);
      continue;
    }
    const [member] = members;
    for (const key of TYPE_KEYS[member.type] ?? []) if (member[key] !== undefined) out[key] = member[key];
    if (family === 'string' && Array.isArray(member.enum)) out.pattern = `^(?:${member.enum.map(escapeRegex).join('|')})$`;
    else if (Array.isArray(member.enum)) dropped.push(`the ${family} alternative's allowed values are not checked`);
  }
  return dropped;
}

/**
 * number | string, scalar | object, ...: the API server only types int-or-string, so the field takes any
 * value; each alternative's checks that only apply to its JSON type (a pattern to strings, bounds to
 * numbers, minItems to arrays) still run, where that type has a single alternative.
 */
function looseUnion(parts, path, context) {
  const out = { 'x-kubernetes-preserve-unknown-fields': true };
  const families = new Map();
  for (const p of parts) {
    const family = p.type === 'integer' ? 'number' : p.type;
    families.set(family, [...(families.get(family) ?? []), p]);
  }
  const checked = [];
  for (const [family, members] of [...families].sort(([a], [b]) => a.localeCompare(b))) {
    if (members.length > 1) continue;
    const [member] = members;
    const keys = (TYPE_KEYS[member.type] ?? []).filter((key) => member[key] !== undefined);
    for (const key of keys) out[key] = member[key];
    if (family === 'string' && Array.isArray(member.enum)) {
      out.pattern = `^(?:${member.enum.map(escapeRegex).join('|')})$`;
      keys.push('enum (as a pattern)');
    }
    if (keys.length > 0) checked.push(`${family}s: ${keys.join(', ')}`);
  }
  // The alternatives' own fields are not checked at all: their losses would only repeat this one.
  context.losses.splice(0, context.losses.length, ...context.losses.filter((l) => !l.path.startsWith(`${path}.`) && !l.path.startsWith(`${path}[]`)));
  const alternatives = parts.map((p) => p.type).join(' or ');
  context.losses.push({ path, loss: `${alternatives}, a union the CRD cannot type: any value passes; checked only ${checked.length > 0 ? checked.join('; ') : 'nothing'}` });
  return out;
}

function mergeScalars(parts, type) {
  const stripped = parts.map((p) => withoutKeys(p, ['type', 'description', 'nullable']));
  if (stripped.every((s) => Object.keys(s).length === 1 && Array.isArray(s.enum))) {
    return { type, enum: uniqueValues(stripped.flatMap((s) => s.enum)) };
  }
  if (stripped.some((s) => Object.keys(s).length === 0)) return { type };
  return { type, anyOf: stripped };
}

function mergeArrays(parts, path, context) {
  const items = unionOf(parts.map((p) => p.items), `${path}[]`, context);
  const out = { type: 'array', items };
  const checks = parts.map((p) => overlay(withoutKeys(p, ['items']), out));
  if (!checks.some((c) => Object.keys(c).length === 0)) out.anyOf = checks;
  return out;
}

/**
 * Objects of a (discriminated) union: one object with every alternative's fields, plus an anyOf that says,
 * per alternative, which fields it requires, which of its values differ from the merged schema (e.g. the
 * discriminator's one value) and, for a strict alternative, that the other alternatives' fields are absent.
 */
function mergeObjects(parts, path, context) {
  const names = uniqueValues(parts.flatMap((p) => Object.keys(p.properties ?? {}))).sort();
  const properties = {};
  const loosened = new Set();
  for (const name of names) {
    const defs = dedupe(parts.filter((p) => p.properties?.[name] !== undefined).map((p) => p.properties[name]));
    if (defs.length === 1) properties[name] = defs[0];
    else {
      properties[name] = unionOfConverted(defs, `${path}.${name}`, context);
      loosened.add(name);
    }
  }
  const out = { type: 'object' };
  if (names.length > 0) out.properties = properties;
  const requiredByAll = (parts[0].required ?? []).filter((r) => parts.every((p) => (p.required ?? []).includes(r)));
  if (requiredByAll.length > 0) out.required = [...requiredByAll].sort();
  if (parts.every((p) => p[STRICT] === true)) out[STRICT] = true;
  const branches = parts.map((p) => {
    const branch = {};
    const own = Object.keys(p.properties ?? {});
    const differing = own.filter((n) => loosened.has(n));
    if (differing.length > 0) {
      branch.properties = {};
      for (const n of differing) {
        const check = overlay(p.properties[n], properties[n]);
        if (Object.keys(check).length > 0) branch.properties[n] = check;
      }
      if (Object.keys(branch.properties).length === 0) delete branch.properties;
    }
    const required = (p.required ?? []).filter((r) => !requiredByAll.includes(r));
    if (required.length > 0) branch.required = required;
    const foreign = names.filter((n) => !own.includes(n));
    if (p[STRICT] === true && foreign.length > 0) branch.not = { anyOf: foreign.map((n) => ({ required: [n] })) };
    return branch;
  });
  if (!branches.some((b) => Object.keys(b).length === 0)) out.anyOf = branches;
  return out;
}

/** unionOf for schemas already converted (fields of merged objects). */
function unionOfConverted(defs, path, context) {
  const nullable = defs.some((d) => d.nullable === true);
  const out = mergeConverted(defs, path, context);
  if (nullable) out.nullable = true;
  return out;
}

/**
 * The checks of `schema` that may stand inside an anyOf over `skeleton` (the merged schema): the API server
 * forbids type, description, default, additionalProperties and nullable there, and every field or item it
 * names must be named outside too.
 */
function overlay(schema, skeleton) {
  const out = {};
  for (const key of VALUE_KEYS) if (schema[key] !== undefined && (skeleton.type === undefined || appliesTo(key, skeleton.type))) out[key] = schema[key];
  if (schema.properties !== undefined && skeleton.properties !== undefined) {
    const props = {};
    for (const [name, sub] of Object.entries(schema.properties)) {
      const skel = skeleton.properties[name];
      if (skel === undefined) continue;
      const check = overlay(sub, skel);
      if (Object.keys(check).length > 0) props[name] = check;
    }
    if (Object.keys(props).length > 0) out.properties = props;
  }
  if (schema.items !== undefined && skeleton.items !== undefined) {
    const check = overlay(schema.items, skeleton.items);
    if (Object.keys(check).length > 0) out.items = check;
  }
  if (schema.anyOf !== undefined && schema['x-kubernetes-int-or-string'] !== true) {
    const checks = schema.anyOf.map((b) => overlay(b, skeleton));
    if (!checks.some((c) => Object.keys(c).length === 0)) out.anyOf = checks;
  }
  if (schema.not !== undefined) out.not = schema.not;
  return out;
}

function appliesTo(key, type) {
  if (key === 'enum') return true;
  return (TYPE_KEYS[type] ?? []).includes(key);
}

function copyValueKeys(node, out, keys, path, context) {
  for (const key of keys) {
    const value = node[key];
    if (value === undefined) continue;
    if (key === 'format' && !KNOWN_FORMATS.has(value)) {
      context.losses.push({ path, loss: `format "${value}" is not checked` });
      continue;
    }
    if (key === 'pattern' && !isRe2Compatible(value)) {
      context.losses.push({ path, loss: `pattern ${value} uses lookaround or backreferences (not RE2): not checked` });
      continue;
    }
    if ((key === 'exclusiveMinimum' || key === 'exclusiveMaximum') && typeof value === 'number') {
      // JSON Schema 2020-12 form; OpenAPI 3.0 (the CRD's) says minimum + exclusiveMinimum: true.
      out[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
      out[key] = true;
      continue;
    }
    out[key] = Array.isArray(value) ? [...value] : value;
  }
}

/** The annotations a node may carry besides its type: description, nullable, and x-kubernetes-* extensions. */
function withAnnotations(out, node, path, context) {
  if (typeof node.description === 'string' && out.description === undefined) out.description = node.description;
  if (node.nullable === true) out.nullable = true;
  if (node.default !== undefined) {
    // Defaults stay the operator's (zod's): the stored object is what the user applied.
  }
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-kubernetes-')) out[key] = JSON.parse(JSON.stringify(value));
    else if (!IGNORED_KEYS.has(key) && !KNOWN_KEYS.has(key)) throw new Error(`${where(path)}: JSON Schema keyword "${key}" is not supported`);
  }
  void context;
  return out;
}

const KNOWN_KEYS = new Set([
  'type', 'properties', 'additionalProperties', 'items', 'prefixItems', 'anyOf', 'oneOf', 'allOf', 'enum', 'const', 'default',
  'description', 'nullable', 'uniqueItems', '$ref', '$defs', 'definitions', ...VALUE_KEYS,
]);

function anyValue(path, context, what) {
  context.losses.push({ path, loss: `${what}: not checked` });
  return { 'x-kubernetes-preserve-unknown-fields': true };
}

function resolveRef(ref, path, context) {
  if (context.resolving.includes(ref)) throw new Error(`${where(path)}: ${ref} refers to itself; a CRD schema cannot be recursive`);
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  const target = match === null ? undefined : context.root[match[1]]?.[match[2].replaceAll('~1', '/').replaceAll('~0', '~')];
  if (target === undefined) throw new Error(`${where(path)}: cannot resolve ${ref} (only local #/$defs/ references)`);
  return target;
}

function groupEnumByType(values) {
  const byType = new Map();
  for (const v of values) byType.set(jsonTypeOf(v), [...(byType.get(jsonTypeOf(v)) ?? []), v]);
  return [...byType].map(([type, vs]) => ({ type, enum: vs }));
}

function jsonTypeOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

/** RE2 (Go's regexp, which the API server uses) has no lookaround and no backreferences. */
export function isRe2Compatible(pattern) {
  return !/\(\?<?[=!]|\\[1-9]|\\k</.test(pattern);
}

function escapeRegex(value) {
  return String(value).replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

const STRICT = Symbol('strict');

function dropStrictMarkers(node) {
  if (Array.isArray(node)) return node.map(dropStrictMarkers);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) out[k] = dropStrictMarkers(v);
  return out;
}

/** Keys sorted at every level (arrays keep their order): the output is the same byte for byte on every run. */
export function sortKeys(node) {
  if (Array.isArray(node)) return node.map(sortKeys);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const key of Object.keys(node).sort()) out[key] = sortKeys(node[key]);
  return out;
}

function sortLosses(losses) {
  const seen = new Set();
  return losses
    .filter((l) => {
      const key = `${l.path}\u0000${l.loss}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.path.localeCompare(b.path) || a.loss.localeCompare(b.loss));
}

function dedupe(schemas) {
  const out = [];
  for (const s of schemas) if (!out.some((o) => deepEqual(o, s))) out.push(s);
  return out;
}

function uniqueValues(values) {
  const out = [];
  for (const v of values) if (!out.some((o) => deepEqual(o, v))) out.push(v);
  return out;
}

function withoutKeys(node, keys) {
  const out = {};
  for (const [k, v] of Object.entries(node)) if (!keys.includes(k) && v !== undefined) out[k] = v;
  return out;
}

function isEmptySchema(node) {
  return node !== null && typeof node === 'object' && Object.keys(node).length === 0;
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a[STRICT] !== b[STRICT]) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
}

function where(path) {
  return path === '' ? '(root)' : path;
}
