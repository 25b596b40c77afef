import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

// A fresh process, so this file's own imports cannot have loaded the SDK already.
function loadedAfter(script: string): string[] {
  const telemetry = path.join(__dirname, 'index.js');
  const probe = `
    const { TracingSdk } = require(${JSON.stringify(telemetry)});
    const sdkLoaded = () => Object.keys(require.cache).some((f) => f.includes('@opentelemetry/sdk-node'));
    (async () => { ${script} })().then((out) => { console.log(JSON.stringify(out)); process.exit(0); });
  `;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' }, timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]') as string[];
}

describe('TracingSdk', () => {
  it('loads the OpenTelemetry SDK only when tracing starts', () => {
    const seen = loadedAfter(`
      const before = sdkLoaded();
      const sdk = await TracingSdk.start('probe');
      const after = sdkLoaded();
      await sdk.onApplicationShutdown();
      return [String(before), String(after)];
    `);
    assert.deepEqual(seen, ['false', 'true']);
  });
});
