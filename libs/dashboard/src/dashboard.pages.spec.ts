import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DashboardAssets } from './dashboard.assets';
import { DashboardPages, type DashboardAccess } from './dashboard.pages';

// Pure routing decisions of the dashboard pages over a real temporary asset directory; access is a table.

describe('DashboardPages', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-dashboard-pages-'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(path.join(dir, 'app.css'), 'body{}');
  writeFileSync(path.join(dir, 'app.js'), 'export {};');
  after(() => rmSync(dir, { recursive: true, force: true }));
  const text = { title: 'infergraph test', tokenName: 'Token (TEST_TOKEN)', refused: 'That is not TEST_TOKEN.' };
  const guarded: DashboardAccess = {
    open: false,
    signedIn: (authorization, cookie) => authorization === 'Bearer good' || cookie === 's=1',
    sessionFor: (presented) => (presented === 'good' ? 's=1; HttpOnly' : undefined),
    clearSession: () => 's=; Max-Age=0',
  };
  const pages = new DashboardPages(new DashboardAssets(dir), guarded, text);

  it('sends a browser without a session to the sign-in page, and one with a session or a bearer token to the dashboard', () => {
    assert.deepEqual([pages.index(undefined, undefined).status, pages.index(undefined, undefined).headers['location']], [303, '/ui/login']);
    for (const r of [pages.index('Bearer good', undefined), pages.index(undefined, 's=1')]) {
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    }
  });

  it('grants a session for the right token and refuses a wrong one with 401 and the reason', () => {
    const ok = pages.signIn(Buffer.from('token=good'));
    assert.equal(ok.status, 303);
    assert.equal(ok.headers['set-cookie'], 's=1; HttpOnly');
    const refused = pages.signIn(Buffer.from('token=bad'));
    assert.equal(refused.status, 401);
    assert.match(String(refused.body), /That is not TEST_TOKEN\./);
    assert.equal(pages.signIn('token=good').status, 401, 'a body that is not raw form bytes presents no token');
  });

  it('serves the stylesheet before sign-in but no other asset, and 404s names it does not ship', () => {
    assert.equal(pages.file('app.css', undefined, undefined).status, 200);
    assert.equal(pages.file('app.js', undefined, undefined).status, 401);
    assert.equal(pages.file('app.js', undefined, 's=1').status, 200);
    const missing = pages.file('../secret', undefined, 's=1');
    assert.equal(missing.status, 404);
    assert.equal((JSON.parse(String(missing.body)) as { error: string }).error, 'no dashboard file "../secret"');
  });

  it('puts the security headers on every answer', () => {
    for (const r of [pages.index(undefined, undefined), pages.loginPage(), pages.signIn(Buffer.from('token=bad')), pages.signOut(), pages.file('nope', undefined, undefined)]) {
      assert.match(r.headers['content-security-policy'] ?? '', /default-src 'none'/);
      assert.equal(r.headers['x-frame-options'], 'DENY');
    }
  });

  it('redirects the sign-in page to the dashboard when no credential is configured', () => {
    const open = new DashboardPages(new DashboardAssets(dir), { ...guarded, open: true, signedIn: () => true }, text);
    assert.equal(open.loginPage().headers['location'], '/ui');
    assert.equal(open.signIn(Buffer.from('token=x')).headers['location'], '/ui');
    assert.equal(pages.signOut().headers['set-cookie'], 's=; Max-Age=0');
  });
});
