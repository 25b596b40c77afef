import path from 'node:path';
import { EXIT_OK, EXIT_PROBLEMS, UsageError, stringOption, type CliCommand } from './cli.command';
import { paint } from './cli.io';
import { findGraphFiles } from './graph-files.finder';

export const validateCommand: CliCommand = {
  name: 'validate',
  summary: 'Check graph files and report every problem as file:line:column; no server needed.',
  usage: 'validate [options] <files|dirs...>',
  details:
    'Directories are searched for *.yaml and *.yml files. Without --strict the document, its nodes, references,\n' +
    'routes and model file paths are checked; --strict also opens every model (ONNX), custom module and\n' +
    'reference file and types the tensors through the graph, as the gateway does when it loads it.\n' +
    'Exit status: 0 every file is valid, 1 problems found, 2 usage error.',
  options: {
    strict: { type: 'boolean', help: 'also open models, modules and reference files, and type every tensor' },
    'model-roots': { type: 'string', help: '<dirs> comma-separated directories graphs may point into (default: the working directory)' },
    json: { type: 'boolean', help: 'print the result as JSON: {files: [{file, name, valid, diagnostics}], problems}' },
  },
  async run({ io }, values, positionals) {
    if (positionals.length === 0) throw new UsageError('name at least one graph file or directory');
    const files = findGraphFiles(positionals);
    if (files.length === 0) throw new UsageError(`no *.yaml or *.yml files in ${positionals.join(', ')}`);
    const roots = (stringOption(values, 'model-roots') ?? '.').split(',').filter((r) => r !== '');
    const strict = values['strict'] === true;
    // Loaded here, not at start-up: the engine and onnxruntime take most of a second to load.
    const { GraphFileValidator } = await import('./graph-file.validator.js');
    // As the gateway: the given directories are roots too, beside the model roots.
    const validator = new GraphFileValidator([...roots, ...positionals.map((p) => path.resolve(p))], strict);
    const results = [];
    for (const file of files) results.push(await validator.validate(file));
    const problems = results.reduce((n, r) => n + r.diagnostics.filter((d) => d.severity !== 'note').length, 0);
    if (values['json'] === true) {
      io.out(JSON.stringify({ files: results, problems }, null, 2));
    } else {
      for (const r of results) {
        if (r.valid) io.out(`${paint(io.color, 'green', 'ok')}      ${r.file}${r.name === undefined ? '' : ` (graph ${r.name})`}`);
        for (const d of r.diagnostics) {
          const where = paint(io.color, 'bold', `${d.file}:${d.line}:${d.column}`);
          const kind = d.severity === 'note' ? paint(io.color, 'cyan', 'note') : paint(io.color, 'red', 'error');
          io.out(`${where} ${kind} ${d.path}: ${d.message}`);
        }
      }
      const invalid = results.filter((r) => !r.valid).length;
      io.out(`${files.length} file${files.length === 1 ? '' : 's'} checked${strict ? ' (strict)' : ''}: ${invalid === 0 ? 'all valid' : `${invalid} with problems, ${problems} problem${problems === 1 ? '' : 's'}`}`);
    }
    return problems === 0 ? EXIT_OK : EXIT_PROBLEMS;
  },
};
