import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadControllerConfig } from './controller.config';

// Unit test of the controller's start-up rules for its network surfaces; no process, no network.

const ADMIN = { ADMIN_TOKEN: 'admin-0123456789abcdef' };

describe('controller configuration', () => {
  it('refuses a non-loopback HOST where anyone could join the control plane, naming the remedies', () => {
    assert.throws(() => loadControllerConfig({ HOST: '0.0.0.0', ...ADMIN }), /HOST="0\.0\.0\.0": anyone reaching the control plane could join as a worker.*CLUSTER_TOKEN/s);
  });

  it('accepts a non-loopback HOST once the control plane needs a join token', () => {
    const config = loadControllerConfig({ HOST: '0.0.0.0', ...ADMIN, CLUSTER_TOKEN: 'cluster-0123456789abcdef' });
    assert.deepEqual(config.controlSecurity.tokens.map((t) => t.name), ['cluster']);
  });

  it('keeps an open control plane on loopback', () => {
    assert.deepEqual(loadControllerConfig({}).controlSecurity.tokens, []);
  });

  it('lists a bad cluster token among the configuration problems without quoting it', () => {
    assert.throws(
      () => loadControllerConfig({ CLUSTER_TOKEN: 'tiny' }),
      (err: Error) => /CLUSTER_TOKEN: a token must be at least 16 characters/.test(err.message) && !err.message.includes('tiny'),
    );
  });

  it('stays in files mode unless CONTROLLER_MODE=kubernetes', () => {
    assert.equal(loadControllerConfig({}).kubernetes, undefined);
  });

  it('reads the operator settings in Kubernetes mode, defaulting the namespace to the service account’s', () => {
    const config = loadControllerConfig({ CONTROLLER_MODE: 'kubernetes', POD_NAME: 'controller-0', MODEL_ROOTS: '/models,/extra' }, '/app', () => 'ml');
    assert.equal(config.kubernetes?.namespace, 'ml');
    assert.equal(config.kubernetes?.identity, 'controller-0');
    assert.equal(config.kubernetes?.leaseName, 'infergraph-controller');
    assert.equal(config.kubernetes?.modelsDir, '/models');
    assert.deepEqual(config.kubernetes?.workerCommand, ['node', 'dist/apps/worker/src/main.js']);
    assert.equal(loadControllerConfig({ CONTROLLER_MODE: 'kubernetes' }, '/app', () => undefined).kubernetes?.namespace, 'default');
  });

  it('lists bad operator settings by name', () => {
    assert.throws(
      () => loadControllerConfig({ CONTROLLER_MODE: 'kubernetes', WORKER_COMMAND: 'node main.js', GATEWAY_REST_URL: 'not a url' }),
      (err: Error) => /WORKER_COMMAND="node main\.js": must be a JSON array/.test(err.message) && /GATEWAY_REST_URL="not a url": must be a URL/.test(err.message),
    );
  });
});
