// The TypeScript compiler's process (typescript.transpiler.ts): transpiles user modules to CommonJS. A child
// of the loading thread, so the compiler (about 9 MB of JavaScript to compile, then a heap of its own to
// collect) costs no thread of the serving process anything, V8's shared helper threads included; the whole
// process runs at background priority. Replies with the JavaScript text or the first syntax error.
import type * as TypeScript from 'typescript';
import { serveBackgroundCalls } from '@infergraph/threads';

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

serveBackgroundCalls(async (request) => {
  const file = String(request['file']);
  compiler ??= import('typescript');
  let ts: typeof TypeScript;
  try {
    ts = await compiler;
  } catch {
    return { error: `loading ${file} needs the "typescript" package; install it or compile the module to .js` };
  }
  return transpile(ts, file, String(request['source']));
});
