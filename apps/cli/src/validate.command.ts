import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PathPolicy, checkModelFile, loadGraphSource } from '@infergraph/engine';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { GraphValidationError, parseGraphSource, type GraphDiagnostic } from '@infergraph/spec';
import { EXIT_OK, EXIT_PROBLEMS, UsageError, stringOption, type CliCommand } from './cli.command';
import { paint } from './cli.io';
import { findGraphFiles } from './graph-files.finder';

interface FileResult {
  readonly file: string;
  readonly name: string | undefined;
  readonly valid: boolean;
  readonly diagnostics: readonly GraphDiagnostic[];
}

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
    // As the gateway: the given directories are roots too, beside the model roots.
    const paths = new PathPolicy([...roots, ...positionals.map((p) => path.resolve(p))]);
    const strict = values['strict'] === true;
    const loader = strict ? new OnnxModelLoader() : undefined;
    const results: FileResult[] = [];
    for (const file of files) results.push(await validateFile(file, paths, loader));
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

async function validateFile(file: string, paths: PathPolicy, loader: OnnxModelLoader | undefined): Promise<FileResult> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { file, name: undefined, valid: false, diagnostics: [{ file, line: 1, column: 1, path: '(file)', message: `cannot read: ${(err as Error).message}` }] };
  }
  if (loader === undefined) {
    const parsed = parseGraphSource(text, file, { checkModelUri: (uri) => checkModelFile(file, uri, paths) });
    const problems = parsed.diagnostics.filter((d) => d.severity !== 'note');
    return { file, name: parsed.graph?.metadata.name ?? parsed.partial.name, valid: problems.length === 0, diagnostics: parsed.diagnostics };
  }
  try {
    const loaded = await loadGraphSource(text, file, loader, { paths });
    await loaded.close();
    return { file, name: loaded.spec.metadata.name, valid: true, diagnostics: [] };
  } catch (err) {
    if (err instanceof GraphValidationError) {
      const problems = err.diagnostics.filter((d) => d.severity !== 'note');
      return { file, name: undefined, valid: problems.length === 0, diagnostics: err.diagnostics };
    }
    return { file, name: undefined, valid: false, diagnostics: [{ file, line: 1, column: 1, path: '(graph)', message: err instanceof Error ? err.message : String(err) }] };
  }
}
