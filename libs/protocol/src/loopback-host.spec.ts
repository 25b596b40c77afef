import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackHost } from './loopback-host';

describe('isLoopbackHost', () => {
  for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1', ' 127.0.0.1 ', '127.8.9.10']) {
    it(`takes ${JSON.stringify(host)} for loopback`, () => assert.equal(isLoopbackHost(host), true));
  }
  for (const host of ['0.0.0.0', '10.0.0.1', '128.0.0.1', '127.0.0.256', '127.0.0', 'localhost.example', '::', '[::2]', '::ffff:10.0.0.1', 'example.com', '', '192.168.1.2', '127.0.0.1.nip.io', '127.0.0.1.example.com']) {
    it(`does not take ${JSON.stringify(host)} for loopback`, () => assert.equal(isLoopbackHost(host), false));
  }
});
