import { IssueSink, dnsName, graphDocument, graphInputs, isObj, modelNodeFields, wholeOutputs, type Obj } from './import.helpers';
import type { ImportMapping, ImportResult, ImportedGraph, SourceDocument } from './import.types';

export const KSERVE_API_VERSION = 'serving.kserve.io/v1alpha1';
const ROUTER_TYPES = ['Sequence', 'Switch', 'Ensemble', 'Splitter'] as const;

/**
 * The GJSON conditions a Switch step may carry: `[@this].#(field==value)` or `field==value` (value a
 * number, true/false, or a string, quoted or not), on a top-level field of the request. infergraph reads
 * it from the request parameters (`parameters.field` of a V2 request).
 */
export function convertCondition(condition: string): string | undefined {
  const m = /^\s*(?:\[@this\]\.#\(\s*(.+?)\s*\)|(.+?))\s*$/.exec(condition);
  const body = m?.[1] ?? m?.[2];
  const eq = body === undefined ? null : /^([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=)\s*(.+)$/.exec(body);
  if (eq === null) return undefined;
  const [, field, op, raw] = eq as unknown as [string, string, string, string];
  const value = /^-?\d+(\.\d+)?$/.test(raw) || raw === 'true' || raw === 'false' ? raw : /^"[^"\\]*"$/.test(raw) ? raw : /^[^"'\s()]+$/.test(raw) ? JSON.stringify(raw) : undefined;
  return value === undefined ? undefined : `params.${field} ${op} ${value}`;
}

/**
 * KServe InferenceGraphs → infergraph graphs: the `root` router node and its steps, each step a model
 * node for the service it names (models in the mapping file by serviceName or serviceUrl).
 */
export function importKserve(docs: readonly SourceDocument[], mapping: ImportMapping): ImportResult {
  const sink = new IssueSink();
  const graphs: ImportedGraph[] = [];
  for (const doc of docs) {
    const c = doc.content;
    if (!isObj(c) || c['apiVersion'] !== KSERVE_API_VERSION || c['kind'] !== 'InferenceGraph') {
      sink.unsupported(doc, 'kind', `not a KServe InferenceGraph (expected apiVersion ${KSERVE_API_VERSION}, kind InferenceGraph)`);
      continue;
    }
    const g = graphOf(doc, mapping, sink);
    if (g !== undefined) graphs.push(g);
  }
  return { graphs, issues: sink.issues };
}

interface Step {
  readonly node: string;
  readonly service: string;
  readonly at: string;
  readonly raw: Obj;
}

function graphOf(doc: SourceDocument, mapping: ImportMapping, sink: IssueSink): ImportedGraph | undefined {
  const c = doc.content as Obj;
  const name = (c['metadata'] as { name?: unknown } | undefined)?.name;
  if (typeof name !== 'string' || name === '') {
    sink.unsupported(doc, 'metadata.name', 'missing');
    return undefined;
  }
  const spec = isObj(c['spec']) ? c['spec'] : {};
  sink.unknownFields(doc, 'spec', spec, ['nodes']);
  const graphNodes = isObj(spec['nodes']) ? spec['nodes'] : {};
  for (const other of Object.keys(graphNodes)) if (other !== 'root') sink.unsupported(doc, `spec.nodes.${other}`, 'only the root node is imported; steps that reference other nodes (nodeName) are not expanded');
  const root = graphNodes['root'];
  if (!isObj(root)) {
    sink.unsupported(doc, 'spec.nodes.root', 'missing: an InferenceGraph starts at its root node');
    return undefined;
  }
  sink.unknownFields(doc, 'spec.nodes.root', root, ['routerType', 'steps']);
  const type = root['routerType'];
  if (!(ROUTER_TYPES as readonly unknown[]).includes(type)) {
    sink.unsupported(doc, 'spec.nodes.root.routerType', `${JSON.stringify(type)}: expected one of ${ROUTER_TYPES.join(', ')}`);
    return undefined;
  }
  const steps: Step[] = [];
  (Array.isArray(root['steps']) ? root['steps'] : []).forEach((s, i) => {
    const at = `spec.nodes.root.steps[${i}]`;
    if (!isObj(s)) return;
    sink.unknownFields(doc, at, s, ['name', 'serviceName', 'serviceUrl', 'nodeName', 'data', 'weight', 'condition', 'dependency']);
    if (s['dependency'] === 'Soft') sink.unsupported(doc, `${at}.dependency`, 'Soft: a failing step fails the infergraph request (no soft dependencies outside combiners with onError: skip)');
    const service = typeof s['serviceName'] === 'string' ? s['serviceName'] : typeof s['serviceUrl'] === 'string' ? s['serviceUrl'] : undefined;
    if (service === undefined) {
      sink.unsupported(doc, at, s['nodeName'] !== undefined ? 'nodeName: steps that call another router node are not imported' : 'a step needs serviceName or serviceUrl');
      return;
    }
    if (mapping.models?.[service] === undefined) sink.unsupported(doc, at, `service ${service} is not in the mapping file: give models.${JSON.stringify(service)}.uri (and its outputs)`);
    const node = dnsName(typeof s['name'] === 'string' ? s['name'] : service);
    steps.push({ node, service, at, raw: s });
  });
  const model = (s: Step, inputs: string[]): Obj => ({ name: s.node, type: 'model', inputs, ...modelNodeFields(mapping.models?.[s.service], undefined) });
  const outputsOf = (s: Step): string[] => wholeOutputs(s.node, mapping.models?.[s.service]) ?? [];
  let nodes: Obj[];
  let outputs: unknown[];
  switch (type as (typeof ROUTER_TYPES)[number]) {
    case 'Sequence': {
      nodes = steps.map((s, i) => {
        const prev = steps[i - 1];
        const fromRequest = prev === undefined || s.raw['data'] === '$request';
        return model(s, [fromRequest ? 'graph.inputs' : prev.node]);
      });
      const last = steps.at(-1);
      outputs = last === undefined ? [] : outputsOf(last);
      break;
    }
    case 'Ensemble': {
      nodes = steps.map((s) => model(s, ['graph.inputs']));
      // KServe answers {"<step>": <response>, ...}: every step's tensors, named after the step.
      outputs = steps.flatMap((s) => (mapping.models?.[s.service]?.outputs ?? []).map((t) => ({ name: `${s.node}.${t}`, source: `${s.node}.outputs.${t}` })));
      break;
    }
    case 'Splitter':
    case 'Switch': {
      const router: Obj = { strategy: type === 'Splitter' ? 'weighted' : 'conditional', routes: steps.map((s) => ({ name: s.node, ...(type === 'Splitter' ? { weight: typeof s.raw['weight'] === 'number' ? s.raw['weight'] : 1 } : {}), to: [s.node] })) };
      if (type === 'Switch') {
        const rules: Obj[] = [];
        let fallback: string | undefined;
        for (const s of steps) {
          const cond = s.raw['condition'];
          if (typeof cond !== 'string' || cond.trim() === '') {
            fallback ??= s.node;
            continue;
          }
          const when = convertCondition(cond);
          if (when === undefined) sink.unsupported(doc, `${s.at}.condition`, `${cond}: only [@this].#(field==value) and field==value (or !=) on a top-level field are converted`);
          else rules.push({ when, route: s.node });
        }
        router['rules'] = rules;
        if (fallback === undefined) {
          sink.unsupported(doc, 'spec.nodes.root.steps', 'no step without a condition: where KServe answers a request that matches no condition, the infergraph router needs a default; the last step was made the default');
          fallback = steps.at(-1)?.node;
        }
        if (fallback !== undefined) router['default'] = fallback;
      }
      nodes = [{ name: 'router', type: 'router', inputs: ['graph.inputs'], router }, ...steps.map((s) => model(s, ['router']))];
      const tensors = steps[0] === undefined ? [] : (mapping.models?.[steps[0].service]?.outputs ?? []);
      outputs = tensors.map((t) => ({ name: t, source: steps.map((s) => `${s.node}.outputs.${t}`) }));
      break;
    }
  }
  if (outputs.length === 0) sink.unsupported(doc, 'spec.nodes.root', 'the graph must name its output tensors: give models.<service>.outputs in the mapping file');
  return { name: dnsName(name), from: `${doc.file}#${doc.index}`, document: graphDocument(name, { 'imported-from': `kserve-${String(type).toLowerCase()}` }, { inputs: graphInputs(mapping, doc, sink), nodes, outputs }) };
}
