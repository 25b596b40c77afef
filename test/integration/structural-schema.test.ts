import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { repoPath } from '../support/repo';
import { structuralViolations, type Schema } from '../support/structural-schema';

// Pure: scripts/k8s/structural-schema.mjs (the zod -> CRD schema converter) on small zod schemas chosen for
// their tricky corners. The real kube-apiserver judges the generated CRDs in test/k8s/chart.test.ts.

interface Loss {
  path: string;
  loss: string;
}
interface Converter {
  toStructuralSchema(schema: unknown, options?: { path?: string }): { schema: Schema; losses: Loss[] };
}

let converter: Converter;
before(async () => {
  converter = (await import(pathToFileURL(repoPath('scripts', 'k8s', 'structural-schema.mjs')).href)) as Converter;
});

function structural(schema: z.ZodType, path = 'spec'): { schema: Schema; losses: Loss[] } {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', reused: 'inline', unrepresentable: 'throw' });
  return converter.toStructuralSchema(json, { path });
}

describe('the zod to structural schema converter (scripts/k8s/structural-schema.mjs)', () => {
  it('keeps strict objects strict by leaving out additionalProperties, and types records', () => {
    const { schema } = structural(z.strictObject({ name: z.string().min(1), labels: z.record(z.string(), z.string()) }));
    assert.deepEqual(schema, {
      type: 'object',
      required: ['name', 'labels'],
      properties: { name: { type: 'string', minLength: 1 }, labels: { type: 'object', additionalProperties: { type: 'string' } } },
    });
  });

  it('inlines $ref definitions and refuses a recursive schema with the field in the message', () => {
    const shared = z.strictObject({ n: z.int().min(0) });
    const { schema } = converter.toStructuralSchema({ type: 'object', properties: { a: { $ref: '#/$defs/S' }, b: { $ref: '#/$defs/S' } }, $defs: { S: z.toJSONSchema(shared, { target: 'openapi-3.0' }) } });
    const props = schema['properties'] as Record<string, Schema>;
    assert.deepEqual(props['a'], props['b']);
    assert.equal((props['a'] as Schema)['type'], 'object');
    assert.deepEqual(structuralViolations(schema), []);
    assert.throws(
      () => converter.toStructuralSchema({ type: 'object', properties: { tree: { $ref: '#/$defs/T' } }, $defs: { T: { type: 'object', properties: { child: { $ref: '#/$defs/T' } } } } }, { path: 'spec' }),
      /spec\.tree\.child: #\/\$defs\/T refers to itself/,
    );
  });

  it('turns integer | string into x-kubernetes-int-or-string, each alternative with its own checks', () => {
    const bytes = z.union([z.int().min(0), z.string().regex(/^\d+(Mi|Gi)?$/)]);
    const { schema, losses } = structural(z.strictObject({ memory: bytes }));
    const memory = (schema['properties'] as Record<string, Schema>)['memory'];
    // The API server allows types inside anyOf only as these two bare alternatives; the checks sit beside
    // them, each applying to its own JSON type (the pattern to strings, the bounds to integers).
    assert.deepEqual(memory, {
      'x-kubernetes-int-or-string': true,
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      pattern: '^\\d+(Mi|Gi)?$',
    });
    assert.deepEqual(losses, []);
    assert.deepEqual(structuralViolations(schema), []);
  });

  it('loosens number | string to any value, keeps the checks that apply to one JSON type, and reports the loss', () => {
    const cpu = z.union([z.number().positive(), z.string().regex(/^\d+m?$/)]);
    const { schema, losses } = structural(z.strictObject({ cpu }));
    assert.deepEqual((schema['properties'] as Record<string, Schema>)['cpu'], {
      'x-kubernetes-preserve-unknown-fields': true,
      minimum: 0,
      exclusiveMinimum: true,
      pattern: '^\\d+m?$',
    });
    assert.equal(losses.length, 1);
    assert.equal(losses[0]?.path, 'spec.cpu');
    assert.match(losses[0]?.loss ?? '', /number or string.*any value passes; checked only numbers: minimum, exclusiveMinimum; strings: pattern/);
  });

  it('merges a discriminated union of strict objects: discriminator enum, required and foreign fields per alternative', () => {
    const step = z.discriminatedUnion('op', [
      z.strictObject({ op: z.literal('clip'), tensor: z.string(), min: z.number().optional() }),
      z.strictObject({ op: z.literal('scale'), tensor: z.string(), min: z.array(z.number()).min(1), factor: z.number() }),
    ]);
    const { schema, losses } = structural(z.array(step), 'steps');
    const items = schema['items'] as Schema;
    const props = items['properties'] as Record<string, Schema>;
    assert.deepEqual(props['op'], { type: 'string', enum: ['clip', 'scale'] });
    assert.deepEqual(items['required'], ['op', 'tensor']);
    assert.deepEqual(items['anyOf'], [
      { properties: { op: { enum: ['clip'] } }, not: { anyOf: [{ required: ['factor'] }] } },
      { properties: { op: { enum: ['scale'] }, min: { minItems: 1 } }, required: ['min', 'factor'] },
    ]);
    // `min` is a number in one alternative and an array in the other: untyped, and said so.
    assert.equal(props['min']?.['x-kubernetes-preserve-unknown-fields'], true);
    assert.deepEqual(
      losses.map((l) => l.path),
      ['steps[].min'],
    );
    assert.deepEqual(structuralViolations(schema), []);
  });

  it('drops defaults (the operator applies them), so defaulted fields are not required', () => {
    const { schema } = structural(z.strictObject({ replicas: z.int().min(1).default(2), pool: z.string().default('cpu'), name: z.string() }));
    assert.deepEqual(schema['required'], ['name']);
    assert.ok(!JSON.stringify(schema).includes('default'));
  });

  it('marks nullable fields, checks tuples by length, and keeps x-kubernetes-validations from zod metadata', () => {
    const rule = { rule: 'self.max >= self.min', message: 'must be >= min', fieldPath: '.max' };
    const { schema } = structural(
      z.strictObject({
        note: z.string().nullable(),
        range: z.tuple([z.number(), z.number()]),
        bounds: z.strictObject({ min: z.int(), max: z.int() }).meta({ 'x-kubernetes-validations': [rule] }),
      }),
    );
    const props = schema['properties'] as Record<string, Schema>;
    assert.deepEqual(props['note'], { type: 'string', nullable: true });
    assert.deepEqual(props['range'], { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 });
    assert.deepEqual(props['bounds']?.['x-kubernetes-validations'], [rule]);
  });

  it('drops a pattern Go regexp cannot compile (lookahead) and reports it; keeps RE2 patterns', () => {
    const { schema, losses } = structural(z.strictObject({ a: z.string().regex(/^(?!x)\w+$/), b: z.string().regex(/^[a-z]+$/) }));
    const props = schema['properties'] as Record<string, Schema>;
    assert.deepEqual(props['a'], { type: 'string' });
    assert.deepEqual(props['b'], { type: 'string', pattern: '^[a-z]+$' });
    assert.deepEqual(losses.map((l) => l.path), ['spec.a']);
  });

  it('gives unchecked values x-kubernetes-preserve-unknown-fields instead of a missing type', () => {
    const { schema, losses } = structural(z.strictObject({ anything: z.unknown(), loose: z.looseObject({ a: z.string() }) }));
    const props = schema['properties'] as Record<string, Schema>;
    assert.deepEqual(props['anything'], { 'x-kubernetes-preserve-unknown-fields': true });
    assert.equal(props['loose']?.['x-kubernetes-preserve-unknown-fields'], true);
    assert.deepEqual(losses.map((l) => l.path), ['spec.anything']);
  });

  it('is deterministic: keys sorted at every level, the same bytes on every run', () => {
    const schema = z.strictObject({ zeta: z.string(), alpha: z.union([z.int(), z.string()]), mid: z.strictObject({ b: z.boolean(), a: z.boolean() }) });
    const first = JSON.stringify(structural(schema).schema);
    assert.equal(JSON.stringify(structural(schema).schema), first);
    const keysInOrder = (node: unknown): boolean =>
      node === null || typeof node !== 'object' || Array.isArray(node)
        ? !Array.isArray(node) || node.every(keysInOrder)
        : Object.keys(node).join() === Object.keys(node).sort().join() && Object.values(node).every(keysInOrder);
    assert.ok(keysInOrder(JSON.parse(first)));
  });
});
