import { z, type core } from 'zod';
import { DATATYPES } from './datatype';
import { echoText } from './error-echo';

// Envelope of an Open Inference Protocol V2 request. Tensor `data` is decoded separately
// (tensor-data.codec.ts): validating millions of numbers through zod would dominate latency.
export const parameterValueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const parametersSchema = z.record(z.string(), z.unknown());

export const inferInputSchema = z.strictObject({
  name: z.string().min(1, 'must be a non-empty string'),
  shape: z.array(z.int().min(0, 'dimensions must be >= 0')),
  datatype: z.enum(DATATYPES, { error: `must be one of ${DATATYPES.join(', ')}` }),
  parameters: parametersSchema.optional(),
  data: z.unknown().optional(),
});

export const requestedOutputSchema = z.strictObject({
  name: z.string().min(1, 'must be a non-empty string'),
  parameters: parametersSchema.optional(),
});

export const inferRequestSchema = z.strictObject({
  id: z.string().optional(),
  parameters: parametersSchema.optional(),
  inputs: z.array(inferInputSchema).min(1, 'must hold at least one input tensor'),
  outputs: z.array(requestedOutputSchema).optional(),
});

export type InferRequestWire = z.infer<typeof inferRequestSchema>;

const DATATYPE_SET: ReadonlySet<string> = new Set(DATATYPES);
const REQUEST_KEYS: ReadonlySet<string> = new Set(['id', 'parameters', 'inputs', 'outputs']);
const INPUT_KEYS: ReadonlySet<string> = new Set(['name', 'shape', 'datatype', 'parameters', 'data']);
const OUTPUT_KEYS: ReadonlySet<string> = new Set(['name', 'parameters']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(o: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const k in o) if (!allowed.has(k)) return false;
  return true;
}

/**
 * True exactly when `inferRequestSchema` accepts `raw` as it is: the hot path skips zod for well-formed
 * requests (zod stays the source of error messages for the rest). Kept equal to the schema by a spec.
 */
export function isWellFormedInferRequest(raw: unknown): raw is InferRequestWire {
  if (!isRecord(raw) || !onlyKeys(raw, REQUEST_KEYS)) return false;
  if (raw['id'] !== undefined && typeof raw['id'] !== 'string') return false;
  if (raw['parameters'] !== undefined && !isRecord(raw['parameters'])) return false;
  const inputs = raw['inputs'];
  if (!Array.isArray(inputs) || inputs.length === 0) return false;
  for (const input of inputs) {
    if (!isRecord(input) || !onlyKeys(input, INPUT_KEYS)) return false;
    const { name, shape, datatype, parameters } = input;
    if (typeof name !== 'string' || name.length === 0 || typeof datatype !== 'string' || !DATATYPE_SET.has(datatype)) return false;
    if (parameters !== undefined && !isRecord(parameters)) return false;
    if (!Array.isArray(shape)) return false;
    for (const d of shape) if (!Number.isSafeInteger(d) || (d as number) < 0) return false;
  }
  const outputs = raw['outputs'];
  if (outputs === undefined) return true;
  if (!Array.isArray(outputs)) return false;
  for (const o of outputs) {
    if (!isRecord(o) || !onlyKeys(o, OUTPUT_KEYS) || typeof o['name'] !== 'string' || o['name'].length === 0) return false;
    if (o['parameters'] !== undefined && !isRecord(o['parameters'])) return false;
  }
  return true;
}
export type InferInputWire = z.infer<typeof inferInputSchema>;
export type RequestedOutputWire = z.infer<typeof requestedOutputSchema>;

/** Renders a zod issue path the way users write it: `inputs[0].shape`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? echoText(String(part)) : `.${echoText(String(part))}`;
  }
  return out === '' ? '(body)' : out;
}

/** One readable line per zod issue: `inputs[0].shape: ...`, `foo: unknown field`. */
export function describeIssue(issue: core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${formatIssuePath([...issue.path, k])}: unknown field`).join('; ');
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return `${formatIssuePath(issue.path)}: required field is missing (${issue.expected} expected)`;
  }
  return `${formatIssuePath(issue.path)}: ${issue.message}`;
}
