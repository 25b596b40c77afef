import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { HotCounter, HotGauge, HotHistogram } from './hot.metrics';

/** Exposition lines with each sample's labels in name order (Prometheus ignores their order), in order. */
function normalised(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const m = /^([^{\s#]+)\{(.*)\} (\S+)$/.exec(line);
      if (m === null) return line;
      const labels = (m[2] as string).match(/[a-z_]+="(?:[^"\\]|\\.)*"/g) ?? [];
      return `${m[1] as string}{${[...labels].sort().join(',')}} ${m[3] as string}`;
    });
}

describe('hot metrics render exactly as prom-client renders the same observations', () => {
  it('counters, gauges and histograms, several series each, default labels included', async () => {
    const reference = new Registry();
    const hot = new Registry();
    for (const r of [reference, hot]) r.setDefaultLabels({ component: 'gateway' });
    const buckets = [0.001, 0.01, 0.1, 1];
    const refCounter = new Counter({ name: 't_requests_total', help: 'Requests "by" outcome.', labelNames: ['graph', 'code'], registers: [reference] });
    const refGauge = new Gauge({ name: 't_in_flight', help: 'In flight.', labelNames: ['graph'], registers: [reference] });
    const refHistogram = new Histogram({ name: 't_duration_seconds', help: 'Duration.', labelNames: ['graph'], buckets, registers: [reference] });
    const counter = new HotCounter('t_requests_total', 'Requests "by" outcome.', ['graph', 'code'], hot);
    const gauge = new HotGauge('t_in_flight', 'In flight.', ['graph'], hot);
    const histogram = new HotHistogram('t_duration_seconds', 'Duration.', ['graph'], buckets, hot);

    const observations: [string, number][] = [['iris', 0.0004], ['iris', 0.001], ['iris', 0.05], ['digits "x"\\n', 3], ['iris', 0.5], ['digits "x"\\n', 0.002]];
    const iris = histogram.child('iris');
    const digits = histogram.child('digits "x"\\n');
    for (const [graph, v] of observations) {
      refHistogram.observe({ graph }, v);
      (graph === 'iris' ? iris : digits).observe(v);
      refCounter.inc({ graph, code: v > 1 ? 'DEADLINE_EXCEEDED' : 'OK' });
      counter.child(graph, v > 1 ? 'DEADLINE_EXCEEDED' : 'OK').inc();
      refGauge.inc({ graph });
      gauge.child(graph).inc();
    }
    refGauge.dec({ graph: 'iris' });
    gauge.child('iris').dec();
    refCounter.inc({ graph: 'iris', code: 'OK' }, 5);
    counter.child('iris', 'OK').inc(5);
    iris.observe(Number.NaN); // ignored (prom-client would throw on the request path)

    assert.deepEqual(normalised(await hot.metrics()), normalised(await reference.metrics()));
  });

  it('refuses a child with the wrong number of label values, naming the metric and its labels', () => {
    const counter = new HotCounter('t_total', 'T.', ['graph', 'code'], new Registry());
    assert.throws(() => counter.child('iris'), /t_total: expected labels graph, code, got 1 values/);
  });
});
