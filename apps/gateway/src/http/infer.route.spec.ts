import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inferTarget } from './infer.route';

describe('inferTarget: which paths the raw infer route takes', () => {
  it('takes the infer path with and without a version, decoding escapes and ignoring the query', () => {
    assert.deepEqual(inferTarget('/v2/models/iris/infer'), { graph: 'iris', version: undefined });
    assert.deepEqual(inferTarget('/v2/models/iris/versions/1/infer'), { graph: 'iris', version: '1' });
    assert.deepEqual(inferTarget('/v2/models/ir%69s/infer?debug=1'), { graph: 'iris', version: undefined });
  });

  it('leaves every other path to Fastify, malformed escapes and empty segments included', () => {
    for (const url of ['/v2/models/iris', '/v2/models/iris/ready', '/v2/models//infer', '/v2/models/iris/versions//infer', '/v2/models/iris/infer/', '/v2/models/a/b/infer', '/v2/models/%E0%A4%A/infer', '/v1/graphs', '/v2/models/iris/versions/1/ready']) {
      assert.equal(inferTarget(url), undefined, url);
    }
  });
});
