import { type TensorMap } from '@infergraph/protocol';
import type { OpProblem, StepOf, TransformOp } from '../transform-op';
import { findTensor } from './step-checks';

/** Renames tensors old → new, in place; renames apply at once, so a swap works. */
export const renameOp: TransformOp<StepOf<'rename'>> = {
  type(step, tensors, problems) {
    const before = problems.length;
    for (const from of Object.keys(step.map)) findTensor(tensors, from, 'map', problems);
    if (problems.length > before) return undefined;
    return renamed(step.map, tensors, problems);
  },

  apply(step, tensors): TensorMap {
    const next = renamed(step.map, tensors, []);
    if (next === undefined) throw new Error('rename collided after typing accepted it');
    return next;
  },
};

/** The tensors under their new names, or undefined (with a problem) when two would share a name. */
function renamed<T extends { readonly name: string }>(
  map: Readonly<Record<string, string>>,
  tensors: ReadonlyMap<string, T>,
  problems: OpProblem[],
): Map<string, T> | undefined {
  const next = new Map<string, T>();
  const renamedFrom = new Map<string, string>();
  for (const [name, t] of tensors) {
    const to = Object.hasOwn(map, name) ? (map[name] ?? name) : name;
    if (next.has(to)) {
      const party = (from: string): string => (from === to ? `tensor "${to}" (not renamed)` : `"${from}" (renamed)`);
      problems.push({
        field: 'map',
        message: `two tensors would be named "${to}": ${party(renamedFrom.get(to) ?? to)} and ${party(name)}`,
      });
      return undefined;
    }
    if (to !== name) renamedFrom.set(to, name);
    next.set(to, to === name ? t : { ...t, name: to });
  }
  return next;
}
