import { IssueSink, dnsName, graphDocument, graphInputs, isObj, modelNodeFields, wholeOutputs, type Obj } from './import.helpers';
import type { ImportMapping, ImportResult, ImportedGraph, ModelMapping, SourceDocument } from './import.types';

export const SELDON_API_VERSION = 'mlops.seldon.io/v1alpha1';

interface SeldonModel {
  readonly doc: SourceDocument;
  readonly name: string;
  /** model, resources and replicas of the node that runs it. */
  readonly fields: Obj;
}

/**
 * Seldon Core v2 Pipelines, Models and Experiments → infergraph graphs: one graph per Pipeline (its steps
 * are model nodes running the Models of the same name) and one per Experiment that no Pipeline uses (a
 * weighted router over its candidates, `mirror` as a shadow). Every field that does not carry over is named.
 */
export function importSeldon(docs: readonly SourceDocument[], mapping: ImportMapping): ImportResult {
  const sink = new IssueSink();
  const models = new Map<string, SeldonModel>();
  const pipelines: SourceDocument[] = [];
  const experiments: SourceDocument[] = [];
  for (const doc of docs) {
    const c = doc.content;
    if (!isObj(c) || c['apiVersion'] !== SELDON_API_VERSION) {
      sink.unsupported(doc, 'apiVersion', `not a Seldon Core v2 document (expected apiVersion ${SELDON_API_VERSION})`);
      continue;
    }
    if (c['kind'] === 'Model') {
      const m = modelOf(doc, mapping, sink);
      if (m !== undefined) models.set(m.name, m);
    } else if (c['kind'] === 'Pipeline') pipelines.push(doc);
    else if (c['kind'] === 'Experiment') experiments.push(doc);
    else sink.unsupported(doc, 'kind', `kind ${JSON.stringify(c['kind'])} is not imported (Pipeline, Model and Experiment are)`);
  }
  const graphs: ImportedGraph[] = [];
  for (const doc of pipelines) {
    const g = pipelineGraph(doc, models, mapping, sink);
    if (g !== undefined) graphs.push(g);
  }
  for (const doc of experiments) {
    const g = experimentGraph(doc, models, mapping, sink);
    if (g !== undefined) graphs.push(g);
  }
  return { graphs, issues: sink.issues };
}

function nameOf(doc: SourceDocument, sink: IssueSink): string | undefined {
  const name = (doc.content as { metadata?: { name?: unknown } }).metadata?.name;
  if (typeof name === 'string' && name !== '') return name;
  sink.unsupported(doc, 'metadata.name', 'missing: the document cannot be referenced or named');
  return undefined;
}

function modelOf(doc: SourceDocument, mapping: ImportMapping, sink: IssueSink): SeldonModel | undefined {
  const name = nameOf(doc, sink);
  if (name === undefined) return undefined;
  const spec = isObj((doc.content as Obj)['spec']) ? ((doc.content as Obj)['spec'] as Obj) : {};
  sink.unknownFields(doc, 'spec', spec, ['storageUri', 'requirements', 'memory', 'replicas', 'minReplicas', 'maxReplicas']);
  const mapped = mapping.models?.[name];
  const uri = mapped?.uri ?? localModelUri(doc, spec['storageUri'], name, sink);
  const fields: Obj = modelNodeFields(mapped, uri);
  const requirements = spec['requirements'];
  if (Array.isArray(requirements) && requirements.some((r) => r !== 'onnx')) {
    sink.note(doc, 'spec.requirements', `infergraph runs ONNX models (onnxruntime); requirements ${JSON.stringify(requirements)} are not used: the model file must be ONNX (check with \`infergraph validate --strict\`)`);
  }
  if (typeof spec['memory'] === 'string') fields['resources'] = { memory: spec['memory'] };
  const min = spec['minReplicas'];
  const max = spec['maxReplicas'];
  if (typeof min === 'number' && typeof max === 'number') {
    fields['replicas'] = { min, max };
    if (spec['replicas'] !== undefined) sink.note(doc, 'spec.replicas', 'with minReplicas and maxReplicas the node autoscales between them; replicas is the starting point only in Seldon');
  } else if (typeof spec['replicas'] === 'number') fields['replicas'] = spec['replicas'];
  else if (typeof min === 'number' || typeof max === 'number') {
    sink.unsupported(doc, typeof min === 'number' ? 'spec.minReplicas' : 'spec.maxReplicas', 'autoscaling needs both minReplicas and maxReplicas');
  }
  return { doc, name, fields };
}

/**
 * storageUri → a model.uri: a local path, or an `s3://` object (infergraph fetches those itself); other
 * remote stores are named as unsupported.
 */
function localModelUri(doc: SourceDocument, storageUri: unknown, name: string, sink: IssueSink): string | undefined {
  if (typeof storageUri !== 'string' || storageUri === '') {
    sink.unsupported(doc, 'spec.storageUri', `missing: give the model file as models.${name}.uri in the mapping file`);
    return undefined;
  }
  const s3 = storageUri.startsWith('s3://');
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(storageUri) && !storageUri.startsWith('file://') && !s3) {
    sink.unsupported(doc, 'spec.storageUri', `${storageUri}: infergraph reads model files from local paths and s3:// (https:// needs a sha256); copy the model and give models.${name}.uri in the mapping file`);
    return undefined;
  }
  const local = s3 ? storageUri : storageUri.replace(/^file:\/\//, '');
  if (local.endsWith('.onnx')) return local;
  sink.note(doc, 'spec.storageUri', `${storageUri} is a model directory: the graph reads ${local.replace(/\/+$/, '')}/model.onnx`);
  return `${local.replace(/\/+$/, '')}/model.onnx`;
}

/** A Seldon tensor reference in infergraph form, or undefined (and an issue) when it has none. */
function convertRef(ref: unknown, pipeline: string, doc: SourceDocument, path: string, sink: IssueSink): string | undefined {
  if (typeof ref !== 'string') {
    sink.unsupported(doc, path, 'a tensor reference must be a string');
    return undefined;
  }
  const [head, part, ...rest] = ref.split('.');
  const tensor = rest.length === 0 ? undefined : rest.join('.');
  if (head === pipeline) {
    if (part === 'inputs') return tensor === undefined ? 'graph.inputs' : `graph.inputs.${tensor}`;
    sink.unsupported(doc, path, `${ref}: a pipeline's own ${part ?? ''} cannot be read by its steps`);
    return undefined;
  }
  if (part === undefined) return dnsName(head ?? '');
  if (part === 'outputs') return tensor === undefined ? dnsName(head ?? '') : `${dnsName(head ?? '')}.outputs.${tensor}`;
  sink.unsupported(doc, path, `${ref}: reading a step's ${part} (rather than its outputs) has no infergraph equivalent`);
  return undefined;
}

function pipelineGraph(doc: SourceDocument, models: ReadonlyMap<string, SeldonModel>, mapping: ImportMapping, sink: IssueSink): ImportedGraph | undefined {
  const name = nameOf(doc, sink);
  if (name === undefined) return undefined;
  const spec = isObj((doc.content as Obj)['spec']) ? ((doc.content as Obj)['spec'] as Obj) : {};
  sink.unknownFields(doc, 'spec', spec, ['steps', 'output', 'input']);
  if (spec['input'] !== undefined) sink.unsupported(doc, 'spec.input', 'pipeline inputs from other pipelines: infergraph graphs read only their request; chain the graphs in the caller');
  const steps = Array.isArray(spec['steps']) ? spec['steps'] : [];
  const nodes: Obj[] = [];
  steps.forEach((step, i) => {
    const at = `spec.steps[${i}]`;
    if (!isObj(step) || typeof step['name'] !== 'string') {
      sink.unsupported(doc, at, 'a step needs a name');
      return;
    }
    sink.unknownFields(doc, at, step, ['name', 'inputs', 'tensorMap', 'inputsJoinType', 'joinWindowMs', 'triggers', 'triggersJoinType', 'batch']);
    const model = models.get(step['name']);
    const mapped = mapping.models?.[step['name']];
    if (model === undefined && mapped === undefined) sink.unsupported(doc, `${at}.name`, `no Model "${step['name']}" among the imported documents and no models.${step['name']} in the mapping file`);
    const rawInputs = Array.isArray(step['inputs']) ? step['inputs'] : undefined;
    const inputs = rawInputs === undefined ? ['graph.inputs'] : rawInputs.map((r, j) => convertRef(r, name, doc, `${at}.inputs[${j}]`, sink)).filter((r): r is string => r !== undefined);
    const node: Obj = { name: dnsName(step['name']), type: 'model', inputs: inputs.length === 0 ? ['graph.inputs'] : inputs, ...(model?.fields ?? modelNodeFields(mapped, undefined)) };
    // The step's own tensorMap says what its model reads; it replaces the mapping file's.
    if (isObj(step['tensorMap'])) {
      const map: Record<string, string> = {};
      for (const [from, to] of Object.entries(step['tensorMap'])) {
        const key = convertRef(from, name, doc, `${at}.tensorMap`, sink);
        if (key !== undefined && typeof to === 'string') map[key] = to;
      }
      node['tensorMap'] = map;
    }
    const join = step['inputsJoinType'];
    if (join !== undefined && join !== 'inner') sink.unsupported(doc, `${at}.inputsJoinType`, `${JSON.stringify(join)}: an infergraph model node waits for all of its inputs (inner); outer and any joins exist only on combiner nodes`);
    if (step['joinWindowMs'] !== undefined) sink.unsupported(doc, `${at}.joinWindowMs`, 'a model node waits for all of its inputs, with the graph deadline (spec.timeoutMs) as its limit');
    if (step['triggers'] !== undefined || step['triggersJoinType'] !== undefined) {
      sink.unsupported(doc, `${at}.${step['triggers'] !== undefined ? 'triggers' : 'triggersJoinType'}`, 'triggers have no equivalent: gate a step with a router node (conditional strategy) instead');
    }
    if (isObj(step['batch'])) {
      const size = step['batch']['size'];
      const windowMs = step['batch']['windowMs'];
      if (typeof size === 'number') {
        (node['model'] as Obj)['batching'] = { maxBatchSize: size, ...(typeof windowMs === 'number' ? { maxQueueDelayMicros: Math.round(windowMs * 1000) } : {}) };
        sink.note(doc, `${at}.batch`, 'mapped to dynamic batching (model.batching): requests are stacked into one model run, each still gets its own answer');
      } else sink.unsupported(doc, `${at}.batch`, 'batch without size');
    }
    nodes.push(node);
  });
  return { name: dnsName(name), from: `${doc.file}#${doc.index}`, document: graphDocument(name, { 'imported-from': 'seldon-pipeline' }, { inputs: graphInputs(mapping, doc, sink), nodes, outputs: pipelineOutputs(doc, spec, name, nodes, models, mapping, sink) }) };
}

function pipelineOutputs(doc: SourceDocument, spec: Obj, pipeline: string, nodes: readonly Obj[], models: ReadonlyMap<string, SeldonModel>, mapping: ImportMapping, sink: IssueSink): unknown[] {
  const output = isObj(spec['output']) ? spec['output'] : {};
  sink.unknownFields(doc, 'spec.output', output, ['steps', 'tensorMap', 'stepsJoin']);
  if (output['stepsJoin'] !== undefined && output['stepsJoin'] !== 'inner') sink.unsupported(doc, 'spec.output.stepsJoin', `${JSON.stringify(output['stepsJoin'])}: graph outputs are all produced (inner)`);
  const lastStep = nodes.at(-1)?.['name'];
  const refs = Array.isArray(output['steps']) ? output['steps'] : typeof lastStep === 'string' ? [lastStep] : [];
  const renames = isObj(output['tensorMap']) ? output['tensorMap'] : {};
  const outputs: unknown[] = [];
  refs.forEach((r, i) => {
    const ref = convertRef(r, pipeline, doc, `spec.output.steps[${i}]`, sink);
    if (ref === undefined) return;
    const whole = ref.includes('.') ? [ref] : wholeOutputs(ref, modelMappingOf(ref, models, mapping));
    if (whole === undefined) {
      sink.unsupported(doc, `spec.output.steps[${i}]`, `the graph must name each output tensor of step ${ref}: give models.${ref}.outputs in the mapping file`);
      return;
    }
    for (const source of whole) {
      const renamed = Object.entries(renames).find(([from]) => convertRef(from, pipeline, doc, 'spec.output.tensorMap', sink) === source)?.[1];
      outputs.push(typeof renamed === 'string' ? { name: renamed, source } : source);
    }
  });
  return outputs;
}

function modelMappingOf(node: string, models: ReadonlyMap<string, SeldonModel>, mapping: ImportMapping): ModelMapping | undefined {
  const name = [...models.keys()].find((m) => dnsName(m) === node) ?? node;
  return mapping.models?.[name];
}

function experimentGraph(doc: SourceDocument, models: ReadonlyMap<string, SeldonModel>, mapping: ImportMapping, sink: IssueSink): ImportedGraph | undefined {
  const name = nameOf(doc, sink);
  if (name === undefined) return undefined;
  const spec = isObj((doc.content as Obj)['spec']) ? ((doc.content as Obj)['spec'] as Obj) : {};
  sink.unknownFields(doc, 'spec', spec, ['default', 'candidates', 'mirror', 'resourceType']);
  if (spec['resourceType'] !== undefined && spec['resourceType'] !== 'model') {
    sink.unsupported(doc, 'spec.resourceType', `${JSON.stringify(spec['resourceType'])}: only experiments over models are imported; an experiment over pipelines needs the pipelines' graphs merged`);
    return undefined;
  }
  if (spec['default'] !== undefined) {
    sink.note(doc, 'spec.default', 'imported as a graph of its own (call the experiment\'s graph); pipelines that call the default model keep calling it directly');
  }
  const candidates = (Array.isArray(spec['candidates']) ? spec['candidates'] : []).filter((c, i): c is Obj => {
    const ok = isObj(c) && typeof c['name'] === 'string';
    if (!ok) sink.unsupported(doc, `spec.candidates[${i}]`, 'a candidate needs a name');
    return ok;
  });
  const node = (model: string, index: string): Obj => {
    const m = models.get(model);
    if (m === undefined && mapping.models?.[model] === undefined) sink.unsupported(doc, index, `no Model "${model}" among the imported documents and no models.${model} in the mapping file`);
    return { name: dnsName(model), type: 'model', inputs: ['router'], ...(m?.fields ?? modelNodeFields(mapping.models?.[model], undefined)) };
  };
  const routes = candidates.map((c) => ({ name: dnsName(c['name'] as string), weight: typeof c['weight'] === 'number' && c['weight'] > 0 ? c['weight'] : 1, to: [dnsName(c['name'] as string)] }));
  const router: Obj = { strategy: 'weighted', routes };
  const nodes: Obj[] = candidates.map((c, i) => node(c['name'] as string, `spec.candidates[${i}].name`));
  const mirror = spec['mirror'];
  if (isObj(mirror) && typeof mirror['name'] === 'string') {
    router['shadow'] = [{ name: dnsName(mirror['name']), percent: typeof mirror['percent'] === 'number' ? mirror['percent'] : 100, to: [dnsName(mirror['name'])] }];
    nodes.push(node(mirror['name'], 'spec.mirror.name'));
  }
  const first = candidates[0]?.['name'] as string | undefined;
  const tensors = first === undefined ? undefined : (mapping.models?.[first]?.outputs ?? undefined);
  if (tensors === undefined) sink.unsupported(doc, 'spec.candidates', 'the graph must name its output tensors: give models.<candidate>.outputs in the mapping file');
  const outputs = (tensors ?? []).map((t) => ({ name: t, source: candidates.map((c) => `${dnsName(c['name'] as string)}.outputs.${t}`) }));
  return {
    name: dnsName(name),
    from: `${doc.file}#${doc.index}`,
    document: graphDocument(name, { 'imported-from': 'seldon-experiment' }, { inputs: graphInputs(mapping, doc, sink), nodes: [{ name: 'router', type: 'router', inputs: ['graph.inputs'], router }, ...nodes], outputs }),
  };
}
