import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceError, type Tensor } from '@infergraph/protocol';
import { routerConfigSchema, type RouterConfig } from '@infergraph/spec';
import type { ConditionScope } from './route-condition';
import { RouteDecider, validateRouterConfig } from './route-decider';
import { pickSticky } from './route-picker';

// Pure-logic unit test of route decisions; random() is scripted so every pick is known.

/** A router config as the graph parser produces it (defaults applied). */
function config(input: unknown): RouterConfig {
  return routerConfigSchema.parse(input);
}

/** random() returning the given values in order; fails the test if called once more. */
function scripted(...values: number[]): { random: () => number; left: () => number } {
  let i = 0;
  return {
    random: () => {
      const v = values[i++];
      if (v === undefined) throw new Error(`random() called ${i} times, scripted ${values.length}`);
      return v;
    },
    left: () => values.length - i,
  };
}

function scope(overrides: Partial<ConditionScope> = {}): ConditionScope {
  return { params: {}, headers: {}, tensors: new Map(), ...overrides };
}

function score(value: number): Map<string, Tensor> {
  return new Map([['score', { name: 'score', datatype: 'FP32', shape: [1], data: new Float32Array([value]) }]]);
}

const ROUTES = [
  { name: 'stable', weight: 90, to: ['model-a'] },
  { name: 'canary', weight: 10, to: ['model-b'] },
];

describe('route decider: strategies', () => {
  const weighted = new RouteDecider(config({ strategy: 'weighted', routes: ROUTES }));
  const WEIGHTED: [u: number, route: string][] = [
    [0, 'stable'],
    [0.8999, 'stable'],
    [0.9, 'canary'],
    [0.9999, 'canary'],
  ];
  for (const [u, route] of WEIGHTED) {
    it(`weighted: takes "${route}" when random() gives ${u}`, () => {
      const r = scripted(u);
      assert.deepEqual(weighted.decide(scope(), r.random), { route, shadows: [] });
      assert.equal(r.left(), 0);
    });
  }

  it('sticky by header: the lower-cased header keys the pick, and random() is not used', () => {
    const decider = new RouteDecider(config({ strategy: 'sticky', routes: ROUTES, sticky: { header: 'X-User' } }));
    for (const user of ['user-42', 'user-7', 'user-1000']) {
      const expected = pickSticky(ROUTES, user);
      for (let i = 0; i < 3; i++) {
        assert.equal(decider.decide(scope({ headers: { 'x-user': user } }), scripted().random).route, expected, user);
      }
    }
    assert.equal(decider.decide(scope({ headers: { 'x-user': 'user-42' } }), scripted().random).route, 'stable');
  });

  it('sticky by parameter: String(value) keys the pick', () => {
    const decider = new RouteDecider(config({ strategy: 'sticky', routes: ROUTES, sticky: { parameter: 'customer' } }));
    for (const [value, key] of [[42, '42'], ['42', '42'], [true, 'true'], ['acme', 'acme']] as const) {
      assert.equal(decider.decide(scope({ params: { customer: value } }), scripted().random).route, pickSticky(ROUTES, key), String(value));
    }
  });

  it('sticky: falls back to a weighted pick when the key is absent or empty', () => {
    const byHeader = new RouteDecider(config({ strategy: 'sticky', routes: ROUTES, sticky: { header: 'x-user' } }));
    const byParam = new RouteDecider(config({ strategy: 'sticky', routes: ROUTES, sticky: { parameter: 'customer' } }));
    const cases: [RouteDecider, ConditionScope][] = [
      [byHeader, scope()],
      [byHeader, scope({ headers: { 'x-user': '' } })],
      [byParam, scope()],
      [byParam, scope({ params: { customer: '' } })],
      [byParam, scope({ params: { customer: null } })],
      [byParam, scope({ params: JSON.parse('{"constructor": null}') as Record<string, unknown> })],
    ];
    for (const [decider, s] of cases) {
      assert.equal(decider.decide(s, scripted(0.95).random).route, 'canary');
      assert.equal(decider.decide(s, scripted(0.05).random).route, 'stable');
    }
  });

  const conditional = new RouteDecider(
    config({
      strategy: 'conditional',
      routes: [
        { name: 'premium', to: ['big'] },
        { name: 'deep', to: ['deep'] },
        { name: 'standard', to: ['small'] },
      ],
      rules: [
        { when: 'headers.x-tier == "gold"', route: 'premium' },
        { when: 'tensors.score > 0.5', route: 'deep' },
      ],
      default: 'standard',
    }),
  );
  const CONDITIONAL: [name: string, scope: ConditionScope, route: string][] = [
    ['the first rule that holds wins, before a later rule reads a tensor', scope({ headers: { 'x-tier': 'gold' } }), 'premium'],
    ['a later rule wins when the earlier ones do not hold', scope({ headers: { 'x-tier': 'silver' }, tensors: score(0.75) }), 'deep'],
    ['the default is taken when no rule holds', scope({ tensors: score(0.25) }), 'standard'],
  ];
  for (const [name, s, route] of CONDITIONAL) {
    it(`conditional: ${name}`, () => {
      assert.equal(conditional.decide(s, scripted().random).route, route);
    });
  }

  it('conditional: names the tensors its rules read, and fails with INVALID_ARGUMENT when one is missing', () => {
    assert.deepEqual(conditional.conditionTensors, ['score']);
    assert.throws(
      () => conditional.decide(scope(), scripted().random),
      (err: unknown) => err instanceof InferenceError && err.code === 'INVALID_ARGUMENT' && /tensor "score"/.test(err.message),
    );
  });
});

describe('route decider: shadows', () => {
  const decider = new RouteDecider(
    config({
      routes: ROUTES,
      shadow: [
        { name: 'never', percent: 0, to: ['x'] },
        { name: 'quarter', percent: 25, to: ['y'] },
        { name: 'always', to: ['z'] },
      ],
    }),
  );
  // One random() for the route, then one per shadow with 0 < percent < 100.
  const CASES: [draws: number[], shadows: string[]][] = [
    [[0.5, 0], ['quarter', 'always']],
    [[0.5, 0.2], ['quarter', 'always']],
    [[0.5, 0.2499], ['quarter', 'always']],
    [[0.5, 0.25], ['always']],
    [[0.5, 0.9999], ['always']],
  ];
  for (const [draws, shadows] of CASES) {
    it(`mirrors ${shadows.join(' and ')} when random() gives ${draws.join(', ')}`, () => {
      const r = scripted(...draws);
      assert.deepEqual(decider.decide(scope(), r.random), { route: 'stable', shadows });
      assert.equal(r.left(), 0);
    });
  }

  it('mirrors a 10% shadow on about 10% of requests', () => {
    const tenth = new RouteDecider(config({ routes: ROUTES, shadow: [{ name: 'mirror', percent: 10, to: ['m'] }] }));
    let mirrored = 0;
    for (let i = 0; i < 1000; i++) {
      // Evenly spread draws: exactly 100 of the 1000 shadow draws fall below 0.1.
      const r = scripted(0.5, (i + 0.5) / 1000);
      if (tenth.decide(scope(), r.random).shadows.length === 1) mirrored++;
    }
    assert.equal(mirrored, 100);
  });
});

describe('router config validation', () => {
  const CASES: [name: string, input: unknown, problems: [path: (string | number)[], message: RegExp][]][] = [
    ['a weighted router with two routes is valid', { routes: ROUTES }, []],
    [
      'a duplicate route name',
      { routes: [...ROUTES, { name: 'stable', to: ['c'] }] },
      [[['routes', 2, 'name'], /^duplicate route name "stable" \(routes\[0\] has it too\)$/]],
    ],
    [
      'a shadow named like a route, and two shadows with one name',
      {
        routes: ROUTES,
        shadow: [
          { name: 'canary', to: ['x'] },
          { name: 'mirror', to: ['y'] },
          { name: 'mirror', to: ['z'] },
        ],
      },
      [
        [['shadow', 0, 'name'], /^duplicate name "canary" \(routes\[1\] has it too\); routes and shadows need distinct names$/],
        [['shadow', 2, 'name'], /^duplicate name "mirror" \(shadow\[1\] has it too\)/],
      ],
    ],
    ['sticky strategy without sticky', { strategy: 'sticky', routes: ROUTES }, [[['sticky'], /^strategy sticky needs sticky: \{header: <name>\} or sticky: \{parameter: <name>\}/]]],
    [
      'conditional strategy without rules or default',
      { strategy: 'conditional', routes: ROUTES },
      [
        [['rules'], /^strategy conditional needs rules/],
        [['default'], /^strategy conditional needs a default route/],
      ],
    ],
    [
      'rules and default naming unknown routes, with a suggestion',
      { strategy: 'conditional', routes: ROUTES, rules: [{ when: 'true', route: 'canery' }], default: 'nope' },
      [
        [['default'], /^unknown route "nope" \(routes: stable, canary\)$/],
        [['rules', 0, 'route'], /^unknown route "canery"; did you mean "canary"\? \(routes: stable, canary\)$/],
      ],
    ],
    [
      'a when that does not parse, with its offset',
      {
        strategy: 'conditional',
        routes: ROUTES,
        rules: [
          { when: 'params.a == 1', route: 'stable' },
          { when: 'params.a = 1', route: 'canary' },
          { when: '(params.b', route: 'canary' },
        ],
        default: 'stable',
      },
      [
        [['rules', 1, 'when'], /^condition does not parse: expected .* at offset 9, found "="/],
        [['rules', 2, 'when'], /^condition does not parse: expected .* at offset 9, found the end$/],
      ],
    ],
    [
      'sticky, rules and default given to a strategy that does not read them',
      { strategy: 'weighted', routes: ROUTES, sticky: { header: 'x-user' }, rules: [{ when: 'true', route: 'stable' }], default: 'stable' },
      [
        [['sticky'], /^only the sticky strategy reads sticky \(strategy is weighted\)$/],
        [['rules'], /^only the conditional strategy reads rules \(strategy is weighted\)$/],
        [['default'], /^only the conditional strategy reads default \(strategy is weighted\)$/],
      ],
    ],
    [
      'rules given to a sticky router',
      { strategy: 'sticky', routes: ROUTES, sticky: { parameter: 'user' }, rules: [{ when: 'true', route: 'stable' }] },
      [[['rules'], /^only the conditional strategy reads rules \(strategy is sticky\)$/]],
    ],
  ];
  for (const [name, input, expected] of CASES) {
    it(`${expected.length === 0 ? 'accepts' : 'reports'} ${name}`, () => {
      const problems = validateRouterConfig(config(input));
      assert.deepEqual(
        problems.map((p) => p.path),
        expected.map(([path]) => path),
        JSON.stringify(problems),
      );
      problems.forEach((p, i) => assert.match(p.message, (expected[i] as [unknown, RegExp])[1]));
    });
  }

  it('reports sticky with both header and parameter when the schema did not run', () => {
    const raw = { strategy: 'sticky', routes: ROUTES.map((r) => ({ ...r })), sticky: { header: 'h', parameter: 'p' } } as RouterConfig;
    assert.deepEqual(validateRouterConfig(raw), [{ path: ['sticky'], message: 'give exactly one of header or parameter' }]);
  });

  it('refuses to build a decider from an invalid config, listing every problem with its path', () => {
    assert.throws(
      () => new RouteDecider(config({ strategy: 'conditional', routes: ROUTES, rules: [{ when: 'x ==', route: 'gone' }], default: 'stable' })),
      /^Error: invalid router config: rules\[0\]\.when: condition does not parse: expected .* at offset 0, found "x"; rules\[0\]\.route: unknown route "gone"/,
    );
  });
});
