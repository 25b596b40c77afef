import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { luaStringLiteral, REPORT_MARKER, wrkLuaScript } from './wrk-lua.script';

// Pure-logic unit test: the script is text; wrk does not run here.

/** Reads a literal made by luaStringLiteral back into bytes, as Lua 5.1 would. */
function readLiteral(literal: string): string {
  assert.ok(literal.startsWith('"') && literal.endsWith('"'), literal);
  const bytes: number[] = [];
  const inner = literal.slice(1, -1);
  for (let i = 0; i < inner.length; i++) {
    if (inner[i] === '\\') {
      bytes.push(Number(inner.slice(i + 1, i + 4)));
      i += 3;
    } else {
      assert.notEqual(inner[i], '"', 'an unescaped quote ends the literal early');
      bytes.push(inner.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

describe('luaStringLiteral', () => {
  for (const text of [
    '{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}',
    'back\\slash and "quotes"',
    'line\nbreak\ttab\r\u0000nul',
    'naïve — ünïcödé 𝛑',
    '\\123 is not an escape here',
    '',
  ]) {
    it(`round-trips ${JSON.stringify(text)} byte for byte`, () => {
      const literal = luaStringLiteral(text);
      assert.match(literal, /^"[\x20-\x7e]*"$/);
      assert.equal(readLiteral(literal), text);
    });
  }
});

describe('wrkLuaScript', () => {
  const body = '{"inputs":[{"name":"input","data":[1]}]}';

  it('posts the body as JSON', () => {
    const script = wrkLuaScript(body);
    assert.match(script, /^wrk\.method = "POST"$/m);
    assert.ok(script.includes(`wrk.body = ${luaStringLiteral(body)}\n`));
    assert.match(script, /^wrk\.headers\["Content-Type"\] = "application\/json"$/m);
  });

  it('adds the given headers, which may replace the content type', () => {
    const script = wrkLuaScript(body, { Authorization: 'Bearer a"b', 'Content-Type': 'application/json; charset=utf-8' });
    assert.ok(script.includes(`wrk.headers["Authorization"] = ${luaStringLiteral('Bearer a"b')}`));
    assert.match(script, /^wrk\.headers\["Content-Type"\] = "application\/json; charset=utf-8"$/m);
    assert.equal(script.match(/Content-Type/g)?.length, 1);
  });

  it('counts responses by status in every thread and reports them from done()', () => {
    const script = wrkLuaScript(body);
    assert.match(script, /function response\(status, headers, body\)\n\s+statuses\[status\] = \(statuses\[status\] or 0\) \+ 1/);
    assert.match(script, /thread:get\("statuses"\)/);
    assert.ok(script.includes(`'${REPORT_MARKER}{"durationUs":%d`));
    for (const p of ['latency:percentile(50)', 'latency:percentile(99)', 'latency:percentile(99.9)', 'os.clock()']) assert.ok(script.includes(p), p);
  });
});
