import type { RouteDecision } from '@infergraph/executor';
import { formatPath, suggest, type RouterConfig } from '@infergraph/spec';
import { conditionTensorNames, evaluateCondition, parseCondition, type Condition, type ConditionScope } from './route-condition';
import { pickSticky, pickWeighted } from './route-picker';

/** One problem in a router config; the path is relative to the router config (`['rules', 2, 'when']`). */
export interface RouterConfigProblem {
  path: (string | number)[];
  message: string;
}

/** Decides the route of each request from a validated router config. */
export class RouteDecider {
  private readonly rules: readonly { readonly condition: Condition; readonly route: string }[];
  /** Tensors the conditional rules read; the router must receive them. */
  readonly conditionTensors: readonly string[];

  /** Throws an Error listing every problem when the config is invalid (see `validateRouterConfig`). */
  constructor(private readonly config: RouterConfig) {
    const problems = validateRouterConfig(config);
    if (problems.length > 0) {
      throw new Error(`invalid router config: ${problems.map((p) => `${formatPath(p.path)}: ${p.message}`).join('; ')}`);
    }
    this.rules =
      config.strategy === 'conditional'
        ? (config.rules ?? []).map((r) => {
            const parsed = parseCondition(r.when);
            if (!parsed.ok) throw new Error(`unreachable: rule "${r.when}" passed validation but does not parse`);
            return { condition: parsed.condition, route: r.route };
          })
        : [];
    this.conditionTensors = [...new Set(this.rules.flatMap((r) => conditionTensorNames(r.condition)))];
  }

  /**
   * `random` is uniform in [0, 1). It is called once for a weighted pick (strategy weighted, or
   * sticky without a key), then once per shadow whose percent is strictly between 0 and 100.
   * Throws INVALID_ARGUMENT when a condition reads a missing or multi-element tensor.
   */
  decide(scope: ConditionScope, random: () => number): RouteDecision {
    const route = this.pickRoute(scope, random);
    const shadows: string[] = [];
    for (const s of this.config.shadow ?? []) {
      if (s.percent >= 100 || (s.percent > 0 && random() * 100 < s.percent)) shadows.push(s.name);
    }
    return { route, shadows };
  }

  private pickRoute(scope: ConditionScope, random: () => number): string {
    switch (this.config.strategy) {
      case 'weighted':
        return pickWeighted(this.config.routes, random());
      case 'sticky': {
        const key = this.stickyKey(scope);
        return key === undefined ? pickWeighted(this.config.routes, random()) : pickSticky(this.config.routes, key);
      }
      case 'conditional': {
        const rule = this.rules.find((r) => evaluateCondition(r.condition, scope));
        return rule?.route ?? (this.config.default as string);
      }
    }
  }

  /** The sticky key of a request, or undefined when it is absent or empty. */
  private stickyKey(scope: ConditionScope): string | undefined {
    const sticky = this.config.sticky;
    let value: unknown;
    if (sticky?.header !== undefined) {
      const name = sticky.header.toLowerCase();
      value = Object.hasOwn(scope.headers, name) ? scope.headers[name] : undefined;
    } else if (sticky?.parameter !== undefined) {
      value = Object.hasOwn(scope.params, sticky.parameter) ? scope.params[sticky.parameter] : undefined;
    }
    let key: string | undefined;
    switch (typeof value) {
      case 'string':
        key = value;
        break;
      case 'number':
      case 'boolean':
      case 'bigint':
        key = String(value);
        break;
      case 'object':
        // A structured parameter keys by its JSON text, not "[object Object]".
        key = value === null ? undefined : JSON.stringify(value);
        break;
      case 'undefined':
      case 'function':
      case 'symbol':
        key = undefined;
    }
    return key === '' ? undefined : key;
  }
}

/** Every problem with a router config that its schema cannot see; paths are relative to the router config. */
export function validateRouterConfig(config: RouterConfig): RouterConfigProblem[] {
  const problems: RouterConfigProblem[] = [];
  const strategy = config.strategy;
  const routeNames = config.routes.map((r) => r.name);
  if (config.routes.length === 0) problems.push({ path: ['routes'], message: 'must declare at least one route' });

  const owner = new Map<string, string>();
  config.routes.forEach((r, i) => {
    const first = owner.get(r.name);
    if (first !== undefined) problems.push({ path: ['routes', i, 'name'], message: `duplicate route name "${r.name}" (${first} has it too)` });
    else owner.set(r.name, `routes[${i}]`);
  });
  (config.shadow ?? []).forEach((s, j) => {
    const first = owner.get(s.name);
    if (first !== undefined) {
      problems.push({ path: ['shadow', j, 'name'], message: `duplicate name "${s.name}" (${first} has it too); routes and shadows need distinct names` });
    } else owner.set(s.name, `shadow[${j}]`);
  });

  if (config.sticky !== undefined) {
    if (strategy !== 'sticky') {
      problems.push({ path: ['sticky'], message: `only the sticky strategy reads sticky (strategy is ${strategy})` });
    } else if ((config.sticky.header === undefined) === (config.sticky.parameter === undefined)) {
      problems.push({ path: ['sticky'], message: 'give exactly one of header or parameter' });
    }
  } else if (strategy === 'sticky') {
    problems.push({ path: ['sticky'], message: 'strategy sticky needs sticky: {header: <name>} or sticky: {parameter: <name>} to read the key from' });
  }

  const checkRoute = (name: string, path: (string | number)[]): void => {
    if (!routeNames.includes(name)) {
      problems.push({ path, message: `unknown route "${name}"${suggest(name, routeNames)} (routes: ${routeNames.join(', ')})` });
    }
  };
  if (strategy === 'conditional') {
    if (config.rules === undefined) problems.push({ path: ['rules'], message: 'strategy conditional needs rules: [{when: <condition>, route: <route>}, …]' });
    else if (config.rules.length === 0) problems.push({ path: ['rules'], message: 'must list at least one rule' });
    if (config.default === undefined) problems.push({ path: ['default'], message: 'strategy conditional needs a default route, taken when no rule holds' });
    else checkRoute(config.default, ['default']);
    (config.rules ?? []).forEach((rule, i) => {
      const parsed = parseCondition(rule.when);
      if (!parsed.ok) problems.push({ path: ['rules', i, 'when'], message: `condition does not parse: ${parsed.message}` });
      checkRoute(rule.route, ['rules', i, 'route']);
    });
  } else {
    if (config.rules !== undefined) problems.push({ path: ['rules'], message: `only the conditional strategy reads rules (strategy is ${strategy})` });
    if (config.default !== undefined) problems.push({ path: ['default'], message: `only the conditional strategy reads default (strategy is ${strategy})` });
  }
  return problems;
}
