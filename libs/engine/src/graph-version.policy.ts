/**
 * Orders two graph versions: numerically when both are numbers ("2" < "10"), otherwise by dotted parts
 * compared numerically where both parts are numbers ("1.9" < "1.10"), else lexically.
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    const c = !Number.isNaN(nx) && !Number.isNaN(ny) ? nx - ny : x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * The version the unversioned path serves: the pinned one when it is among the servable versions,
 * otherwise the latest servable one not held back (a version with a rollout that has not promoted it),
 * otherwise the latest servable one, otherwise the latest known one.
 */
export function defaultVersionOf(
  versions: readonly { readonly version: string; readonly servable: boolean; readonly held?: boolean }[],
  pinned: string | undefined,
): string | undefined {
  const servable = versions.filter((v) => v.servable);
  if (pinned !== undefined && servable.some((v) => v.version === pinned)) return pinned;
  const free = servable.filter((v) => v.held !== true).map((v) => v.version);
  const pool = free.length > 0 ? free : servable.length > 0 ? servable.map((v) => v.version) : versions.map((v) => v.version);
  return [...pool].sort(compareVersions).pop();
}
