import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StructuredLogger } from './structured.logger';

function capture(format: 'json' | 'text', level: 'info' | 'debug'): { logger: StructuredLogger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new StructuredLogger({ component: 'gateway', format, level, write: (l) => lines.push(l) }), lines };
}

describe('StructuredLogger', () => {
  it('writes one JSON object per line with the record fields at the top level', () => {
    const { logger, lines } = capture('json', 'debug');
    logger.record('debug', 'request', { msg: 'graph "iris" answered', requestId: 'r-1', graph: 'iris', durationMs: 1.5 });
    const line = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    assert.equal(line['level'], 'debug');
    assert.equal(line['component'], 'gateway');
    assert.equal(line['context'], 'request');
    assert.equal(line['requestId'], 'r-1');
    assert.equal(line['durationMs'], 1.5);
    assert.match(String(line['time']), /^\d{4}-\d{2}-\d{2}T/);
  });

  it('drops records below the level, and NestJS start-up chatter at info', () => {
    const { logger, lines } = capture('json', 'info');
    logger.record('debug', 'request', { msg: 'hidden' });
    logger.log('Mapped {/v2, GET} route', 'RouterExplorer');
    logger.log('gateway listening on http://127.0.0.1:1', 'gateway');
    logger.error('boom', 'Error: boom\n    at x', 'http');
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? '', /"context":"gateway","msg":"gateway listening/);
    const error = JSON.parse(lines[1] ?? '') as Record<string, unknown>;
    assert.equal(error['level'], 'error');
    assert.equal(error['context'], 'http');
    assert.match(String(error['stack']), /at x/);
  });

  it('writes key=value pairs in text format, quoting values with spaces', () => {
    const { logger, lines } = capture('text', 'info');
    logger.record('warn', 'request', { msg: 'graph "iris" failed', requestId: 'r 2', code: 'UNAVAILABLE' });
    assert.match(lines[0] ?? '', /WARN +gateway \[request\] graph "iris" failed requestId="r 2" code=UNAVAILABLE\n$/);
  });
});
