// Makes sure Prometheus and promtool are installed (the e2e tests scrape real processes with them).
import { ensureDebianPackage } from '../lib/debian-package.mjs';

ensureDebianPackage({ pkg: 'prometheus', bins: ['prometheus', 'promtool'], why: 'for promtool and a real scrape in the e2e tests' });
