// Makes sure wrk is installed (the serving bench drives its HTTP load with it: a C load generator costs a
// fraction of the CPU a Node one does, which matters when it shares two cores with the server it measures).
import { ensureDebianPackage } from '../lib/debian-package.mjs';

ensureDebianPackage({ pkg: 'wrk', bins: ['wrk'], why: "the serving bench's HTTP load generator" });
