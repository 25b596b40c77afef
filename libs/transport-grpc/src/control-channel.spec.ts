import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ControllerAddresses } from './control-channel';

describe('ControllerAddresses', () => {
  it('tries the listed controllers in turn, starting with the first', () => {
    const a = new ControllerAddresses(' 10.0.0.1:9000, 10.0.0.2:9000 ,');
    assert.deepEqual(a.all, ['10.0.0.1:9000', '10.0.0.2:9000']);
    assert.equal(a.current, '10.0.0.1:9000');
    assert.equal(a.advance(), '10.0.0.2:9000');
    assert.equal(a.advance(), '10.0.0.1:9000');
  });

  it('stays on a single controller (a Service)', () => {
    const a = new ControllerAddresses('infergraph-controller:9000');
    assert.equal(a.advance(), 'infergraph-controller:9000');
  });

  it('refuses an empty list, naming the variable', () => {
    assert.throws(() => new ControllerAddresses(' , '), /CONTROLLER=" , ": expected host:port/);
  });
});
