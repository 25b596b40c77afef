import { formatShape, isFloatDatatype, shapesCompatible, type TensorSpec } from '@infergraph/protocol';
import { suggest, type CombinerConfig } from '@infergraph/spec';
import { INTEGER_DATATYPES } from './branch-tensors';

/** What one input of a combiner produces, as the graph typer knows it (-1: dynamic dimension). */
export interface CombinerBranchType {
  readonly source: string;
  readonly tensors: readonly TensorSpec[];
}

/**
 * Static check of a combiner against the typed tensors of its inputs; returns its outputs, or
 * undefined when they cannot be decided. For `custom` the outputs are the declared `outputs`.
 */
export function typeCombiner(
  config: CombinerConfig,
  branches: readonly CombinerBranchType[],
): { outputs: TensorSpec[] | undefined; problems: string[] } {
  const problems: string[] = [];
  const strategy = config.strategy;
  const sources = branches.map((b) => b.source);
  if (config.join === 'outer' && config.joinWindowMs === undefined) {
    problems.push('join outer needs joinWindowMs: how long to wait for the other inputs after the first one arrives');
  }
  for (const key of Object.keys(config.weights ?? {})) {
    if (!sources.includes(key)) {
      problems.push(`weights name "${key}", which is not an input of this combiner${suggest(key, sources)} (inputs: ${sources.join(', ')})`);
    }
  }

  if (strategy === 'custom') {
    if (config.module === undefined) problems.push('strategy custom needs module: the path of the module that exports the combine function');
    if (config.outputs === undefined) problems.push('strategy custom needs outputs: the tensors the module returns (name, datatype, shape)');
    return { outputs: config.outputs, problems };
  }
  if (config.module !== undefined) problems.push(`module is read only by strategy custom (strategy is ${strategy})`);
  if (config.outputs !== undefined) problems.push(`outputs are read only by strategy custom (strategy is ${strategy}); built-in strategies decide their outputs`);
  if (config.weights !== undefined && (strategy === 'mean' || strategy === 'max' || strategy === 'concat')) {
    problems.push(`strategy ${strategy} does not use weights${strategy === 'mean' ? ' (use strategy weighted-mean)' : ''}`);
  }
  if (strategy === 'weighted-mean' || ((strategy === 'soft-vote' || strategy === 'hard-vote') && config.weights !== undefined)) {
    const weights = config.weights ?? {};
    const missing = sources.filter((s) => !Object.hasOwn(weights, s));
    if (missing.length > 0) problems.push(`strategy ${strategy} needs weights for every input; missing: ${missing.join(', ')}`);
  }
  if (branches.length === 0) {
    problems.push('a combiner needs at least one input');
    return { outputs: undefined, problems };
  }

  // Config problems above do not stop typing; a tensor problem below leaves the outputs unknown.
  const configProblems = problems.length;
  const defaultTensor = strategy === 'soft-vote' ? 'probabilities' : strategy === 'hard-vote' ? 'label' : undefined;
  const names = tensorNames(config.tensor ?? defaultTensor, branches, problems);
  const outputs: TensorSpec[] = [];
  for (const name of names) {
    const specs = branches.map((b) => b.tensors.find((t) => t.name === name) as TensorSpec);
    if (strategy === 'concat') {
      const out = concatType(name, config.axis, branches, specs, problems);
      if (out !== undefined) outputs.push(out);
      continue;
    }
    const merged = mergeElementwise(name, strategy, branches, specs, problems);
    if (merged === undefined) continue;
    switch (strategy) {
      case 'mean':
      case 'weighted-mean':
        if (isFloatDatatype(merged.datatype)) outputs.push(merged);
        else problems.push(`strategy ${strategy} needs a float tensor (FP16, FP32, FP64); "${name}" is ${merged.datatype}`);
        break;
      case 'max':
        if (merged.datatype !== 'BYTES') outputs.push(merged);
        else problems.push(`strategy max needs a numeric tensor; "${name}" is BYTES`);
        break;
      case 'soft-vote':
        if (!isFloatDatatype(merged.datatype) || merged.shape.length !== 2) {
          problems.push(`strategy soft-vote needs float probabilities [N, C]; "${name}" is ${merged.datatype} ${formatShape(merged.shape)}`);
        } else {
          outputs.push({ name: 'probabilities', datatype: merged.datatype, shape: merged.shape });
          outputs.push({ name: 'label', datatype: 'INT64', shape: [merged.shape[0] as number] });
        }
        break;
      case 'hard-vote':
        if (INTEGER_DATATYPES.includes(merged.datatype)) outputs.push({ ...merged, name: 'label' });
        else problems.push(`strategy hard-vote needs integer labels; "${name}" is ${merged.datatype}`);
        break;
    }
  }
  return { outputs: problems.length === configProblems ? outputs : undefined, problems };
}

/** The tensor named by the config (checked in every input), or every name all inputs produce. */
function tensorNames(tensor: string | undefined, branches: readonly CombinerBranchType[], problems: string[]): string[] {
  if (tensor !== undefined) {
    const missing = branches.filter((b) => !b.tensors.some((t) => t.name === tensor));
    for (const b of missing) {
      const produced = b.tensors.map((t) => t.name);
      problems.push(`input "${b.source}" does not produce tensor "${tensor}"${suggest(tensor, produced)} (it produces: ${produced.join(', ') || 'nothing'})`);
    }
    return missing.length === 0 ? [tensor] : [];
  }
  const first = branches[0] as CombinerBranchType;
  const shared = first.tensors.map((t) => t.name).filter((n) => branches.every((b) => b.tensors.some((t) => t.name === n)));
  if (shared.length === 0) {
    problems.push(
      `the inputs share no tensor name to combine (${branches.map((b) => `"${b.source}": ${b.tensors.map((t) => t.name).join(', ') || 'nothing'}`).join('; ')}); set tensor or rename with tensorMap`,
    );
  }
  return shared;
}

/** One datatype and compatible shapes across the inputs; the merged shape keeps every known dimension. */
function mergeElementwise(
  name: string,
  strategy: string,
  branches: readonly CombinerBranchType[],
  specs: readonly TensorSpec[],
  problems: string[],
): TensorSpec | undefined {
  const first = specs[0] as TensorSpec;
  let shape = [...first.shape];
  for (let i = 1; i < specs.length; i++) {
    const s = specs[i] as TensorSpec;
    if (s.datatype !== first.datatype || !shapesCompatible(s.shape, shape)) {
      problems.push(
        `strategy ${strategy} needs one datatype and shape, but tensor "${name}" is ${first.datatype} ${formatShape(first.shape)} from "${branches[0]?.source}" and ${s.datatype} ${formatShape(s.shape)} from "${branches[i]?.source}"`,
      );
      return undefined;
    }
    shape = shape.map((d, k) => (d >= 0 ? d : (s.shape[k] as number)));
  }
  return { name, datatype: first.datatype, shape };
}

function concatType(
  name: string,
  axis: number,
  branches: readonly CombinerBranchType[],
  specs: readonly TensorSpec[],
  problems: string[],
): TensorSpec | undefined {
  const first = specs[0] as TensorSpec;
  const rank = first.shape.length;
  const at = axis < 0 ? rank + axis : axis;
  if (at < 0 || at >= rank) {
    problems.push(`axis ${axis} is out of range for tensor "${name}" of rank ${rank} ${formatShape(first.shape)}`);
    return undefined;
  }
  let shape = [...first.shape];
  let joined = 0;
  for (let i = 0; i < specs.length; i++) {
    const s = specs[i] as TensorSpec;
    const others = (dims: readonly number[]): number[] => dims.filter((_, k) => k !== at);
    if (s.datatype !== first.datatype || s.shape.length !== rank || !shapesCompatible(others(s.shape), others(shape))) {
      problems.push(
        `strategy concat along axis ${axis} needs one datatype and equal dimensions except dimension ${at}, but tensor "${name}" is ${first.datatype} ${formatShape(first.shape)} from "${branches[0]?.source}" and ${s.datatype} ${formatShape(s.shape)} from "${branches[i]?.source}"`,
      );
      return undefined;
    }
    shape = shape.map((d, k) => (k === at || d >= 0 ? d : (s.shape[k] as number)));
    const d = s.shape[at] as number;
    joined = joined < 0 || d < 0 ? -1 : joined + d;
  }
  shape[at] = joined;
  return { name, datatype: first.datatype, shape };
}
