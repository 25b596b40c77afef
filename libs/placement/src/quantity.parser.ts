// Kubernetes-style resource quantities: "500m" cores, "512Mi" / "1G" bytes.

const BINARY_UNITS = ['Ki', 'Mi', 'Gi', 'Ti', 'Pi'] as const;
const DECIMAL_UNITS = ['k', 'M', 'G', 'T', 'P'] as const;

const BYTE_MULTIPLIERS: ReadonlyMap<string, bigint> = new Map([
  ['', 1n],
  ...BINARY_UNITS.map((unit, i): [string, bigint] => [unit, 1024n ** BigInt(i + 1)]),
  ...DECIMAL_UNITS.map((unit, i): [string, bigint] => [unit, 1000n ** BigInt(i + 1)]),
]);

const DECIMAL = String.raw`(\d+(?:\.\d+)?|\.\d+)`;
const CPU_RE = new RegExp(`^${DECIMAL}(m?)$`);
const BYTES_RE = new RegExp(`^${DECIMAL}(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$`);
// Common spellings that are not quantities ("512MB", "4gi", "2K"), to suggest the intended one.
const BYTES_TYPO_RE = new RegExp(`^${DECIMAL}\\s*([kmgtp])(i?b?)$`, 'i');

const CPU_FORMS = 'expected cores as a number ("2", "0.5") or millicores ("500m")';
const BYTES_FORMS =
  'expected bytes as a whole number ("1048576") or a number with a suffix: Ki, Mi, Gi, Ti, Pi (powers of 1024) ' +
  'or k, M, G, T, P (powers of 1000), e.g. "512Mi", "4Gi", "1G"';

/** Parses a CPU quantity ("500m", "2", "0.5", or a number of cores) into cores. */
export function parseCpu(input: string | number): number {
  if (typeof input === 'number') {
    if (Number.isFinite(input) && input >= 0) return input;
    throw new Error(`invalid cpu quantity ${String(input)}: ${CPU_FORMS}`);
  }
  const match = CPU_RE.exec(input.trim());
  if (match === null) throw new Error(`invalid cpu quantity ${JSON.stringify(input)}: ${CPU_FORMS}`);
  const value = Number(match[1]);
  return match[2] === 'm' ? value / 1000 : value;
}

/**
 * Parses a memory quantity ("512Mi", "4Gi", "1G", "100M", or a number of bytes) into bytes.
 * Fractions of a byte round up ("0.1Gi" is 107374183), as Kubernetes does.
 */
export function parseBytes(input: string | number): number {
  if (typeof input === 'number') {
    if (Number.isSafeInteger(input) && input >= 0) return input;
    throw new Error(`invalid byte quantity ${String(input)}: ${BYTES_FORMS}`);
  }
  const text = input.trim();
  const match = BYTES_RE.exec(text);
  if (match === null) throw new Error(`invalid byte quantity ${JSON.stringify(input)}: ${BYTES_FORMS}${typoHint(text)}`);
  const [whole = '', fraction = ''] = (match[1] ?? '').split('.');
  const multiplier = BYTE_MULTIPLIERS.get(match[2] ?? '') ?? 1n;
  // Exact decimal arithmetic: "1.1k" must be 1100 bytes, not 1100.0000000000002 rounded up.
  const scale = 10n ** BigInt(fraction.length);
  const scaled = BigInt(whole + fraction) * multiplier;
  const bytes = (scaled + scale - 1n) / scale;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`byte quantity ${JSON.stringify(input)} is too large (over 8Pi)`);
  return Number(bytes);
}

function typoHint(text: string): string {
  const match = BYTES_TYPO_RE.exec(text);
  if (match === null) return '';
  const [, number = '', letter = ''] = match;
  const upper = letter.toUpperCase();
  const decimal = upper === 'K' ? 'k' : upper;
  return `; did you mean "${number}${upper}i" (binary) or "${number}${decimal}" (decimal)?`;
}

export type Rounding = 'nearest' | 'up' | 'down';

const ROUND: Record<Rounding, (x: number) => number> = { nearest: Math.round, up: Math.ceil, down: Math.floor };
const FORMAT_UNITS = ['', ...BINARY_UNITS] as const;

/**
 * Formats bytes for messages in binary units with at most one decimal: 4294967296 -> "4Gi",
 * 1610612736 -> "1.5Gi", 100 -> "100". `rounding` lets a message round a need up and a free amount
 * down, so that "needs 1.6Gi, free is 1.5Gi" never reads as "needs 1.5Gi, free is 1.5Gi"; it applies to
 * the magnitude of a negative amount.
 */
export function formatBytes(bytes: number, rounding: Rounding = 'nearest'): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const round = ROUND[rounding];
  const last = FORMAT_UNITS.length - 1;
  let magnitude = Math.abs(bytes);
  let unit = 0;
  while (unit < last && magnitude >= 1024) {
    magnitude /= 1024;
    unit += 1;
  }
  const steps = unit === 0 ? 1 : 10;
  let value = round(magnitude * steps) / steps;
  if (value >= 1024 && unit < last) {
    // 1023.96Mi rounds to 1024Mi: say 1Gi instead.
    unit += 1;
    value = round((value / 1024) * 10) / 10;
  }
  return `${bytes < 0 ? '-' : ''}${value}${FORMAT_UNITS[unit] ?? ''}`;
}

/** Formats cores for messages with millicore precision: 2 -> "2", 1.5 -> "1.5", 0.25 -> "0.25". */
export function formatCpu(cores: number): string {
  return String(Math.round(cores * 1000) / 1000);
}
