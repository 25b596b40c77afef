import { z } from 'zod';
import { DATATYPES } from '@infergraph/protocol';

// DNS-1123 label: the name becomes part of URLs, topic names and Kubernetes objects.
export const dnsLabel = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit');

export const tensorName = z
  .string()
  .min(1, 'must be a non-empty string')
  .regex(/^[^\s]+$/, 'must not contain whitespace');

export const tensorSpecSchema = z.strictObject({
  name: tensorName,
  datatype: z.enum(DATATYPES, { error: `must be one of ${DATATYPES.join(', ')}` }),
  shape: z
    .array(z.int({ error: 'dimensions must be integers' }).refine((d) => d === -1 || d >= 1, 'dimensions must be >= 1, or -1 for a dynamic dimension'))
    .min(1, 'must have at least one dimension'),
});

