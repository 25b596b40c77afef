#!/usr/bin/env node
// The `infergraph` command (package.json "bin"): runs the compiled CLI, or says how to build it, since
// `npm ci` in a clone installs dependencies without compiling anything.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'dist', 'apps', 'cli', 'src', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`infergraph: the command line is not built yet (${main} is missing).\nRun \`npm run build\` in ${root}, then try again.\n`);
  process.exit(1);
}
await import(pathToFileURL(main).href);
