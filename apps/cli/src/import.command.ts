import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { z } from 'zod';
import { importKserve, importSeldon, type ImportIssue, type ImportMapping, type ImportResult, type ImportedGraph, type SourceDocument } from '@infergraph/importers';
import { parseGraphSource } from '@infergraph/spec';
import { CommandError, EXIT_OK, EXIT_PROBLEMS, UsageError, stringOption, type CliCommand } from './cli.command';
import { paint } from './cli.io';

const mappingSchema = z.strictObject({
  inputs: z.array(z.strictObject({ name: z.string().min(1), datatype: z.string().min(1), shape: z.array(z.int()) })).optional(),
  models: z
    .record(
      z.string(),
      z.strictObject({ uri: z.string().min(1).optional(), tensorMap: z.record(z.string(), z.string()).optional(), outputs: z.array(z.string().min(1)).optional() }),
    )
    .optional(),
});

const IMPORTERS: Readonly<Record<string, (docs: readonly SourceDocument[], mapping: ImportMapping) => ImportResult>> = { seldon: importSeldon, kserve: importKserve };

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'Convert Seldon Core v2 (Pipeline, Model, Experiment) or KServe InferenceGraph YAML into infergraph graphs.',
  usage: 'import [options] seldon|kserve <files...>',
  details:
    'Writes the graphs to standard output (YAML documents) or, with -o, one <name>.yaml per graph (an existing\n' +
    'file is kept unless --force). Every field that does not carry over is listed on stderr as file: path: why.\n' +
    'The mapping file (YAML or JSON) gives what the source formats leave out: the request tensors\n' +
    '(inputs: [{name, datatype, shape}]) and per model name, serviceName or serviceUrl the ONNX file, tensor\n' +
    'renames and output tensor names (models: {<name>: {uri, tensorMap, outputs}}); relative paths are relative\n' +
    'to the mapping file. See docs/migrating.md.\n' +
    'Exit status: 0 imported exactly, 1 something did not carry over (the graphs are still written), 2 usage error.',
  options: {
    mapping: { type: 'string', short: 'm', help: '<file> the mapping file' },
    output: { type: 'string', short: 'o', help: '<dir> write one <name>.yaml per graph here instead of to stdout' },
    force: { type: 'boolean', short: 'f', help: 'with -o: replace files that exist' },
    json: { type: 'boolean', help: 'print {graphs: [{name, from, file, document}], issues} as JSON' },
  },
  run({ io }, values, positionals) {
    const [format, ...files] = positionals;
    const importer = format === undefined ? undefined : IMPORTERS[format];
    if (importer === undefined) throw new UsageError(`the first argument is the source format: seldon or kserve${format === undefined ? '' : `, not ${JSON.stringify(format)}`}`);
    if (files.length === 0) throw new UsageError(`name at least one ${format} YAML file`);
    const mappingFile = stringOption(values, 'mapping');
    const mapping = mappingFile === undefined ? {} : readMapping(mappingFile);
    const docs: SourceDocument[] = [];
    const issues: ImportIssue[] = [];
    for (const file of files) docs.push(...readDocuments(file, issues));
    const result = importer(docs, mapping);
    issues.push(...result.issues);
    const outDir = stringOption(values, 'output');
    const graphs = result.graphs.map((g) => placeModelPaths(g, outDir));
    // The imported graphs meet the same checks as hand-written ones (model files excepted: they are checked at load).
    for (const g of graphs) {
      const parsed = parseGraphSource(stringify(g.document), `${g.name}.yaml`);
      for (const d of parsed.diagnostics) if (d.severity !== 'note') issues.push({ file: g.from, path: `(imported graph ${g.name}) ${d.path}`, message: d.message, severity: 'unsupported' });
    }
    const written: Record<string, string> = {};
    if (outDir !== undefined) {
      const targets = graphs.map((g) => path.join(outDir, `${g.name}.yaml`));
      const existing = targets.filter((t) => existsSync(t));
      if (existing.length > 0 && values['force'] !== true) throw new CommandError(`${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}: nothing written (--force replaces them)`);
      mkdirSync(outDir, { recursive: true });
      graphs.forEach((g, i) => {
        const target = targets[i] as string;
        writeFileSync(target, `# Imported by \`infergraph import ${format}\` from ${g.from}\n${stringify(g.document)}`);
        written[g.name] = target;
      });
    }
    if (values['json'] === true) {
      io.out(JSON.stringify({ graphs: graphs.map((g) => ({ ...g, file: written[g.name] })), issues }, null, 2));
    } else {
      if (outDir === undefined) io.out(graphs.map((g) => `# Imported by \`infergraph import ${format}\` from ${g.from}\n${stringify(g.document)}`).join('---\n'));
      for (const g of graphs) if (written[g.name] !== undefined) io.err(`wrote ${written[g.name]} (graph ${g.name} from ${g.from})`);
      for (const i of issues) io.err(`${i.file}: ${i.path}: ${i.severity === 'note' ? paint(io.errColor, 'cyan', 'note') : paint(io.errColor, 'yellow', 'unsupported')}: ${i.message}`);
    }
    return Promise.resolve(issues.some((i) => i.severity === 'unsupported') ? EXIT_PROBLEMS : EXIT_OK);
  },
};

function readMapping(file: string): ImportMapping {
  let raw: unknown;
  try {
    raw = parseAllDocuments(readFileSync(file, 'utf8'))[0]?.toJS() as unknown;
  } catch (err) {
    throw new UsageError(`--mapping ${file}: ${(err as Error).message}`);
  }
  const parsed = mappingSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`--mapping ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ')}`);
  const dir = path.dirname(path.resolve(file));
  const models = Object.fromEntries(Object.entries(parsed.data.models ?? {}).map(([k, m]) => [k, m.uri === undefined ? m : { ...m, uri: path.resolve(dir, m.uri) }]));
  return { ...parsed.data, models };
}

function readDocuments(file: string, issues: ImportIssue[]): SourceDocument[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const out: SourceDocument[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    if (doc.errors.length > 0) {
      issues.push({ file, path: `documents[${index}]`, message: `YAML syntax: ${doc.errors[0]?.message.split('\n')[0] ?? ''}`, severity: 'unsupported' });
      return;
    }
    const content: unknown = doc.toJS({ maxAliasCount: 100 });
    if (content !== null && content !== undefined) out.push({ file, index, content });
  });
  return out;
}

/** Model paths relative to the written file (-o), or absolute on stdout; relative source paths are relative to their source file. */
function placeModelPaths(graph: ImportedGraph, outDir: string | undefined): ImportedGraph {
  const sourceDir = path.dirname(path.resolve(graph.from.replace(/#\d+$/, '')));
  const spec = graph.document['spec'] as { nodes: { model?: { uri: string } }[] };
  const nodes = spec.nodes.map((n) => {
    if (n.model === undefined || n.model.uri === '') return n;
    const absolute = path.resolve(sourceDir, n.model.uri);
    return { ...n, model: { ...n.model, uri: outDir === undefined ? absolute : path.relative(path.resolve(outDir), absolute) } };
  });
  return { ...graph, document: { ...graph.document, spec: { ...spec, nodes } } };
}
