import assert from 'node:assert/strict';

/** The Prometheus text a process serves at `<baseUrl>/metrics` (asserting 200). */
export async function scrapeMetrics(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** The value of the first sample whose line starts with `name{` (or `name `) and holds every label given; 0 when none. */
export function metricSample(text: string, name: string, labels: Record<string, string> = {}): number {
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}
