import { z } from 'zod';

const routeName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lowercase letters, digits, "-")');
const nodeName = z.string().min(1, 'must name a node');

export const routeSchema = z.strictObject({
  name: routeName,
  /** Relative weight: any positive number, normalised over the routes. */
  weight: z.number().positive('must be > 0').default(1),
  /** Nodes that run only when this route is taken; they read the router's outputs. */
  to: z.array(nodeName).min(1, 'must list the nodes this route runs'),
});

export const routerConfigSchema = z.strictObject({
  strategy: z.enum(['weighted', 'sticky', 'conditional'], { error: 'must be weighted, sticky or conditional' }).default('weighted'),
  routes: z.array(routeSchema).min(1, 'must declare at least one route'),
  /** Where the sticky key comes from: a request header or a request parameter. */
  sticky: z
    .strictObject({ header: z.string().min(1).optional(), parameter: z.string().min(1).optional() })
    .refine((s) => (s.header === undefined) !== (s.parameter === undefined), 'give exactly one of header or parameter')
    .optional(),
  /** Conditional routing: the first rule whose expression holds wins, else `default`. */
  rules: z.array(z.strictObject({ when: z.string().min(1), route: routeName })).optional(),
  default: routeName.optional(),
  /** Mirrored branches: run on a share of requests, results discarded, failures recorded only. */
  shadow: z
    .array(
      z.strictObject({
        name: routeName,
        percent: z.number().min(0).max(100).default(100),
        to: z.array(nodeName).min(1, 'must list the nodes this shadow runs'),
      }),
    )
    .optional(),
});

export type RouterConfig = z.infer<typeof routerConfigSchema>;
export type RouteConfig = z.infer<typeof routeSchema>;
