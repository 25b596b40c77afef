import { z, type core } from 'zod';
import { DATATYPES } from './datatype';

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
export type InferInputWire = z.infer<typeof inferInputSchema>;
export type RequestedOutputWire = z.infer<typeof requestedOutputSchema>;

/** Renders a zod issue path the way users write it: `inputs[0].shape`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
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
