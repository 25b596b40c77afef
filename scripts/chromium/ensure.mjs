// Makes sure Chromium is installed: the dashboard's browser tests (test/e2e/ui.test.ts) drive Debian's
// Chromium headless through puppeteer-core, which never downloads a browser of its own.
import { ensureDebianPackage } from '../lib/debian-package.mjs';

ensureDebianPackage({ pkg: 'chromium', bins: ['chromium'], why: "the web dashboard's browser tests (headless, driven by puppeteer-core)" });
