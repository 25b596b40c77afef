import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { platform } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { parseGraphSourceOffLoop, preparePostedGraphOffLoop, readModelFileOffLoop, startLoadingThread } from '@infergraph/engine';
import { diagnosticsWith, parseGraphSource, preparePostedGraph, type ParsedGraphSource } from '@infergraph/spec';
import { BACKGROUND_NICE, threadNiceValues } from '@infergraph/threads';
import { repoPath } from '../support/repo';

// Integration: the real loading thread (dist/libs/engine/src/loading.worker.js): its parses against the
// parser on this thread, over every graph document the project ships (examples and test fixtures, broken
// ones included); model files read and hashed there; documents posted to the controller prepared there.

/** Every .yaml document under `dir`, recursively. */
function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return yamlFiles(file);
    return /\.ya?ml$/.test(name) ? [file] : [];
  });
}

/** JSON of a parse with Maps and Sets as entry lists and functions left out: what must match across threads. */
function comparable(parsed: ParsedGraphSource): string {
  const { locator: _locator, ...rest } = parsed;
  return JSON.stringify(rest, (_key, value: unknown) => {
    if (value instanceof Map) return { map: [...value.entries()] };
    if (value instanceof Set) return { set: [...value.values()] };
    return value;
  });
}

/** A valid graph of `n` chained transformer nodes, large enough that parsing it takes a while. */
function longGraph(n: number): string {
  const nodes = Array.from({ length: n }, (_, i) =>
    [
      `    - name: t${i}`,
      '      type: transformer',
      `      inputs: [${i === 0 ? 'graph.inputs.features' : `t${i - 1}`}]`,
      '      transformer:',
      '        steps:',
      '          - {op: standardize, tensor: features, mean: [5.8, 3.0, 3.7, 1.1], std: [0.8, 0.4, 1.7, 0.7]}',
    ].join('\n'),
  );
  return `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: long}
spec:
  inputs: [{name: features, datatype: FP32, shape: [-1, 4]}]
  nodes:
${nodes.join('\n')}
  outputs: [t${n - 1}.outputs.features]
`;
}

describe('graph documents parsed in the background thread', () => {
  const files = [...yamlFiles(repoPath('graphs')), ...yamlFiles(repoPath('test', 'fixtures'))];

  it('give what the parser on the event loop gives, for every shipped document', async () => {
    assert.ok(files.length > 40, `found only ${files.length} documents`);
    let clean = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const here = parseGraphSource(text, file);
      const there = await parseGraphSourceOffLoop(text, file);
      assert.equal(comparable(there), comparable(here), file);
      if (here.graph !== undefined) {
        clean++;
        const names = here.graph.spec.nodes.map((n) => n.name);
        for (const a of names) for (const b of names) assert.equal(there.routing?.exclusive(a, b), here.routing?.exclusive(a, b), `${file}: exclusive(${a}, ${b})`);
      }
    }
    assert.ok(clean > 20, `only ${clean} documents parsed clean: the comparison would not cover the background path`);
  });

  it('locate problems found after parsing where the parser on the event loop does', async () => {
    const file = repoPath('graphs', 'iris.yaml');
    const text = readFileSync(file, 'utf8');
    const later = [{ path: ['spec', 'nodes', 1, 'model', 'uri'], message: 'cannot open' }];
    assert.deepEqual(diagnosticsWith(await parseGraphSourceOffLoop(text, file), later), diagnosticsWith(parseGraphSource(text, file), later));
  });

  it('report a model that fails its check as the parser on the event loop does', async () => {
    const file = repoPath('graphs', 'iris.yaml');
    const text = readFileSync(file, 'utf8');
    const checkModelUri = (uri: string): string | undefined => `no such model: ${uri}`;
    const there = await parseGraphSourceOffLoop(text, file, { checkModelUri });
    assert.equal(there.graph, undefined);
    assert.ok(there.diagnostics.length > 0);
    assert.equal(comparable(there), comparable(parseGraphSource(text, file, { checkModelUri })));
  });

  it('keep the event loop turning while a large document is parsed', async () => {
    const text = longGraph(400);
    const here = parseGraphSource(text, 'long.yaml');
    assert.notEqual(here.graph, undefined, JSON.stringify(here.diagnostics.slice(0, 3)));
    let turns = 0;
    let turning = true;
    const turn = (): void => {
      turns++;
      if (turning) setImmediate(turn);
    };
    setImmediate(turn);
    const started = turns;
    const there = await parseGraphSourceOffLoop(text, 'long.yaml');
    turning = false;
    assert.equal(comparable(there), comparable(here));
    // Parsed on this thread, the document would have held the loop for the whole parse: no turn in between.
    assert.ok(turns - started >= 10, `the event loop turned ${turns - started} times while a 400-node document was parsed`);
  });

  it('run at the lowest scheduling priority', { skip: platform() !== 'linux' && 'thread nice values are read from /proc on Linux' }, async () => {
    startLoadingThread();
    await parseGraphSourceOffLoop(readFileSync(repoPath('graphs', 'iris.yaml'), 'utf8'), 'iris.yaml');
    const nice = threadNiceValues();
    assert.equal(nice.get(process.pid), 0, 'the event loop thread keeps its priority');
    assert.ok(
      [...nice.values()].includes(BACKGROUND_NICE),
      `no thread of this process runs at nice ${BACKGROUND_NICE}: ${[...nice].map(([t, n]) => `${t}:${n}`).join(' ')}`,
    );
  });

  it('read model files and hash them, handing the bytes over whole', async () => {
    for (const file of ['models/digits-mlp/1/model.onnx', 'models/iris-logreg/1/model.onnx']) {
      const expected = readFileSync(repoPath(file));
      const read = await readModelFileOffLoop(repoPath(file));
      assert.equal(read.sha256, createHash('sha256').update(expected).digest('hex'), file);
      assert.ok(Buffer.from(read.bytes.buffer, read.bytes.byteOffset, read.bytes.byteLength).equals(expected), `${file}: same bytes`);
      // Moved out of the thread, not copied into a shared pool: the view is its buffer, whole.
      assert.equal(read.bytes.byteOffset, 0);
      assert.equal(read.bytes.byteLength, read.bytes.buffer.byteLength);
    }
    await assert.rejects(readModelFileOffLoop(repoPath('models', 'no-such-model.onnx')), /ENOENT: no such file or directory, open '.*no-such-model\.onnx'/);
    // A directory is refused with the file system's reason too, and the thread goes on.
    await assert.rejects(readModelFileOffLoop(repoPath('models')), /EISDIR/);
    assert.equal((await readModelFileOffLoop(repoPath('models', 'iris-logreg', '1', 'model.onnx'))).bytes.byteLength, readFileSync(repoPath('models', 'iris-logreg', '1', 'model.onnx')).byteLength);
  });

  it('prepare posted documents as the controller\'s loop would', async () => {
    const documents = [
      readFileSync(repoPath('graphs', 'iris.yaml')),
      Buffer.from('metadata: {name: a}\nx: &a [1, 2]\ny: *a\n'.repeat(1)),
      Buffer.from(`a: &a [${'x, '.repeat(50)}x]\nb: &b [${'*a, '.repeat(50)}*a]\nc: [${'*b, '.repeat(50)}*b]\n`),
      Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0xfe]),
    ];
    for (const bytes of documents) {
      assert.deepEqual(await preparePostedGraphOffLoop(bytes, '/srv/graphs'), preparePostedGraph(bytes, '/srv/graphs'));
    }
  });
});
