// Worker thread that transpiles TypeScript user modules to CommonJS, so importing the compiler and
// transpiling (hundreds of ms to seconds of CPU) never block the event loop that serves requests and
// sends heartbeats. Started by typescript.transpiler.ts; replies with the JavaScript text.
import { parentPort } from 'node:worker_threads';
import type * as TypeScript from 'typescript';
import { runAtBackgroundPriority } from '@infergraph/threads';

runAtBackgroundPriority();

interface Request {
  readonly id: number;
  readonly file: string;
  readonly source: string;
}

let compiler: Promise<typeof TypeScript> | undefined;

function transpile(ts: typeof TypeScript, file: string, source: string): { js: string } | { error: string } {
  const output = ts.transpileModule(source, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
  });
  const syntax = output.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
  if (syntax !== undefined) return { error: `${file}: ${ts.flattenDiagnosticMessageText(syntax.messageText, '\n')}` };
  return { js: output.outputText };
}

parentPort?.on('message', (request: Request) => {
  compiler ??= import('typescript');
  compiler.then(
    (ts) => parentPort?.postMessage({ id: request.id, ...transpile(ts, request.file, request.source) }),
    () => parentPort?.postMessage({ id: request.id, error: `loading ${request.file} needs the "typescript" package; install it or compile the module to .js` }),
  );
});
