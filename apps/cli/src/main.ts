#!/usr/bin/env node
import { runCli } from './cli.runner';
import { processIo } from './cli.io';

// The only place the CLI reads process.env and argv; commands get them through their context.
void runCli(process.argv.slice(2), processIo(process.env), process.env).then((code) => {
  process.exitCode = code;
});
