import { InferenceError, formatShape, type Tensor, type TensorMap, type TensorSpec } from '@infergraph/protocol';
import type { NodeRuntime } from '@infergraph/executor';
import type { OutlierDetector } from '@infergraph/detectors';
import type { GraphProblem, OutlierConfig } from '@infergraph/spec';
import { rowsOf } from './tensor-rows';

/**
 * An outlier detector on the request path: scores every row of one [N, F] tensor against the
 * reference it was fitted on. Outputs is_outlier (BOOL [N]), outlier_score (FP64 [N]) and, for the
 * per-feature methods, feature_scores (FP64 [N, F]). With action "reject" a request holding any
 * outlier row gets 422 with the scores.
 */
export class OutlierNode implements NodeRuntime {
  constructor(
    private readonly name: string,
    private readonly detector: OutlierDetector,
    private readonly threshold: number,
    private readonly tensor: string,
    private readonly action: OutlierConfig['action'],
    /** Rows scored and rows flagged, per call (for counts; no scores leave through it). */
    private readonly onScored?: (rows: number, outliers: number) => void,
  ) {}

  // async: a reject or bad input becomes a rejected promise, like every other node.
  // eslint-disable-next-line @typescript-eslint/require-await
  async infer(inputs: TensorMap): Promise<TensorMap> {
    const t = inputs.get(this.tensor) as Tensor;
    const rows = rowsOf(t, this.detector.features, this.name);
    const { scores, featureScores } = this.detector.score(rows);
    const flags = new Uint8Array(scores.length);
    let outliers = 0;
    scores.forEach((s, i) => {
      const flagged = Number.isNaN(s) || s > this.threshold; // a row that cannot be scored is not normal
      flags[i] = flagged ? 1 : 0;
      if (flagged) outliers++;
    });
    this.onScored?.(scores.length, outliers);
    if (this.action === 'reject' && outliers > 0) {
      throw new InferenceError(
        'UNPROCESSABLE',
        `node "${this.name}": ${outliers} of ${scores.length} rows are outliers (score above ${round(this.threshold)})`,
        { details: { is_outlier: Array.from(flags, (f) => f === 1), outlier_score: Array.from(scores), threshold: this.threshold } },
      );
    }
    const n = scores.length;
    const out = new Map<string, Tensor>([
      ['is_outlier', { name: 'is_outlier', datatype: 'BOOL', shape: [n], data: flags }],
      ['outlier_score', { name: 'outlier_score', datatype: 'FP64', shape: [n], data: Float64Array.from(scores) }],
    ]);
    if (featureScores !== undefined) {
      out.set('feature_scores', { name: 'feature_scores', datatype: 'FP64', shape: [n, this.detector.features], data: Float64Array.from(featureScores) });
    }
    return out;
  }
}

/** Which tensor a detector reads: `config.tensor`, or the node's only input. */
export function detectorTensor(configured: string | undefined, incoming: readonly TensorSpec[]): string | undefined {
  if (configured !== undefined) return configured;
  return incoming.length === 1 ? incoming[0]?.name : undefined;
}

/** Static check of a detector's input tensor against its reference's feature count. */
export function checkDetectorInput(
  base: readonly (string | number)[],
  field: 'outlier' | 'drift',
  configured: string | undefined,
  incoming: readonly TensorSpec[],
  features: number,
): { tensor: string | undefined; problems: GraphProblem[] } {
  const tensor = detectorTensor(configured, incoming);
  if (tensor === undefined) {
    return {
      tensor,
      problems: [{ path: [...base, field], message: `receives ${incoming.length} tensors (${incoming.map((t) => t.name).join(', ')}); name the one to watch with ${field}.tensor` }],
    };
  }
  const spec = incoming.find((t) => t.name === tensor);
  if (spec === undefined) {
    return { tensor, problems: [{ path: [...base, field, 'tensor'], message: `no input tensor "${tensor}" (receives: ${incoming.map((t) => t.name).join(', ')})` }] };
  }
  const last = spec.shape[1];
  if (spec.shape.length !== 2 || spec.datatype === 'BYTES' || spec.datatype === 'BOOL' || (last !== undefined && last >= 0 && last !== features)) {
    return {
      tensor,
      problems: [
        {
          path: [...base, field],
          message: `tensor "${tensor}" is ${spec.datatype} ${formatShape(spec.shape)}; the reference has ${features} features, so it must be numeric [N, ${features}]`,
        },
      ],
    };
  }
  return { tensor, problems: [] };
}

export function outlierOutputs(features: number, perFeature: boolean): TensorSpec[] {
  const outputs: TensorSpec[] = [
    { name: 'is_outlier', datatype: 'BOOL', shape: [-1] },
    { name: 'outlier_score', datatype: 'FP64', shape: [-1] },
  ];
  if (perFeature) outputs.push({ name: 'feature_scores', datatype: 'FP64', shape: [-1, features] });
  return outputs;
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
