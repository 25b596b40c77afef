/** A JSON schema node, as the CRD tests read them. */
export type Schema = Record<string, unknown>;

/**
 * The rules of a structural schema (Kubernetes docs, "Specifying a structural schema"): every field and
 * item outside the junctors is typed (or int-or-string, or preserves unknown fields); inside anyOf/oneOf/
 * allOf/not there is no type (but in the int-or-string pattern), description, default, additionalProperties
 * or nullable, and every field or item named there is also named outside. Returns the violations.
 */
export function structuralViolations(schema: Schema, path = '', inJunctor = false, outside: Schema | undefined = undefined): string[] {
  const problems: string[] = [];
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  if (inJunctor) {
    for (const key of ['description', 'default', 'additionalProperties', 'nullable']) if (key in schema) problems.push(`${path}: ${key} inside a junctor`);
    if ('type' in schema) problems.push(`${path}: type inside a junctor`);
    const props = schema['properties'] as Record<string, Schema> | undefined;
    for (const [name, sub] of Object.entries(props ?? {})) {
      const out = (outside?.['properties'] as Record<string, Schema> | undefined)?.[name];
      if (out === undefined) problems.push(`${path}.${name}: named in a junctor only`);
      problems.push(...structuralViolations(sub, `${path}.${name}`, true, out));
    }
    if (schema['items'] !== undefined) {
      const out = outside?.['items'] as Schema | undefined;
      if (out === undefined) problems.push(`${path}[]: items in a junctor only`);
      problems.push(...structuralViolations(schema['items'] as Schema, `${path}[]`, true, out));
    }
  } else {
    if (schema['type'] === undefined && !intOrString && schema['x-kubernetes-preserve-unknown-fields'] !== true) problems.push(`${path}: no type`);
    for (const [name, sub] of Object.entries((schema['properties'] as Record<string, Schema> | undefined) ?? {})) problems.push(...structuralViolations(sub, `${path}.${name}`));
    if (schema['items'] !== undefined) problems.push(...structuralViolations(schema['items'] as Schema, `${path}[]`));
    if (typeof schema['additionalProperties'] === 'object') problems.push(...structuralViolations(schema['additionalProperties'] as Schema, `${path}.*`));
    if (schema['additionalProperties'] === false) problems.push(`${path}: additionalProperties: false`);
  }
  for (const junctor of ['anyOf', 'oneOf', 'allOf']) {
    for (const [i, branch] of ((schema[junctor] as Schema[] | undefined) ?? []).entries()) {
      if (intOrString && junctor === 'anyOf') {
        // The one typed junctor allowed: exactly `anyOf: [{type: integer}, {type: string}]`.
        if (JSON.stringify(branch) !== JSON.stringify({ type: ['integer', 'string'][i] })) problems.push(`${path}.anyOf[${i}]: not the bare int-or-string alternative`);
        continue;
      }
      problems.push(...structuralViolations(branch, `${path}.${junctor}[${i}]`, true, inJunctor ? outside : schema));
    }
  }
  if (schema['not'] !== undefined) problems.push(...structuralViolations(schema['not'] as Schema, `${path}.not`, true, inJunctor ? outside : schema));
  for (const key of ['$ref', '$defs', 'const', 'prefixItems', 'uniqueItems']) if (key in schema) problems.push(`${path}: ${key}`);
  return problems;
}

