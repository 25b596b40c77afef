import type { TensorMap } from '@infergraph/protocol';
import type { SpecSet } from './transform-op';

/**
 * The typing of a node's steps for the last tensor signature (names, datatypes and shapes, in order) that
 * typed without problems. Typing depends on nothing else, so requests shaped like the one before reuse it
 * instead of building spec sets and checking every step again.
 */
export class StepTypingMemo {
  private names: string[] = [];
  private datatypes: string[] = [];
  private shapes: (readonly number[])[] = [];
  private typed: readonly SpecSet[] | undefined;

  /** Each step's typed tensors when `inputs` has the remembered signature; otherwise undefined. */
  lookup(inputs: TensorMap): readonly SpecSet[] | undefined {
    const typed = this.typed;
    if (typed === undefined || inputs.size !== this.names.length) return undefined;
    let i = 0;
    for (const [name, t] of inputs) {
      if (name !== this.names[i] || t.datatype !== this.datatypes[i] || !sameShape(t.shape, this.shapes[i] as readonly number[])) return undefined;
      i++;
    }
    return typed;
  }

  remember(inputs: TensorMap, typed: readonly SpecSet[]): void {
    this.names = [];
    this.datatypes = [];
    this.shapes = [];
    for (const [name, t] of inputs) {
      this.names.push(name);
      this.datatypes.push(t.datatype);
      this.shapes.push([...t.shape]);
    }
    this.typed = typed;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}
