import { readFileSync } from 'node:fs';
import { PathPolicy, checkModelFile, loadGraphSource } from '@infergraph/engine';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { GraphValidationError, parseGraphSource, type GraphDiagnostic } from '@infergraph/spec';

export interface FileResult {
  readonly file: string;
  readonly name: string | undefined;
  readonly valid: boolean;
  readonly diagnostics: readonly GraphDiagnostic[];
}

/** Checks graph files as the gateway loads them: parsing and structure, and with `strict` models, modules and typing. */
export class GraphFileValidator {
  private readonly paths: PathPolicy;
  private readonly loader: OnnxModelLoader | undefined;

  constructor(roots: readonly string[], strict: boolean) {
    this.paths = new PathPolicy(roots);
    this.loader = strict ? new OnnxModelLoader() : undefined;
  }

  validate(file: string): Promise<FileResult> {
    return validateFile(file, this.paths, this.loader);
  }
}

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
