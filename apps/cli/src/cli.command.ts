import { parseArgs } from 'node:util';
import type { CliIo } from './cli.io';
import type { CliSettings } from './cli.config';

/** Exit codes a script can rely on. */
export const EXIT_OK = 0;
export const EXIT_PROBLEMS = 1;
export const EXIT_USAGE = 2;

/** A mistake in how the command was called: printed with the command's usage, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A problem found while doing the work (a refused request, an unreachable server): exit 1. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** One line for --help; the value's placeholder first for string options (`<dir> where to write`). */
  readonly help: string;
}

export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface CommandContext {
  readonly io: CliIo;
  readonly settings: CliSettings;
}

export interface CliCommand {
  readonly name: string;
  readonly summary: string;
  /** `infergraph <usage>`, e.g. `validate [options] <files|dirs...>`. */
  readonly usage: string;
  /** Paragraphs after the usage line in --help. */
  readonly details?: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  run(ctx: CommandContext, values: OptionValues, positionals: readonly string[]): Promise<number>;
}

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', help: 'show this help' };

/** Parses a command's arguments strictly: unknown flags and missing values are usage errors. */
export function parseCommandArgs(command: CliCommand, args: readonly string[]): { values: OptionValues; positionals: string[]; help: boolean } {
  const options = { ...command.options, help: HELP_OPTION };
  try {
    const parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
    const values = parsed.values as OptionValues;
    return { values, positionals: parsed.positionals, help: values['help'] === true };
  } catch (err) {
    // node:util parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes and a readable message.
    if (err instanceof TypeError && String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) throw new UsageError(err.message);
    throw err;
  }
}

export function commandHelp(command: CliCommand): string {
  const lines = [`usage: infergraph ${command.usage}`, '', command.summary];
  if (command.details !== undefined) lines.push('', command.details);
  lines.push('', 'options:');
  const entries = Object.entries({ ...command.options, help: HELP_OPTION });
  const labels = entries.map(([name, spec]) => {
    const placeholder = spec.type === 'string' ? ` ${/^<[^>]+>/.exec(spec.help)?.[0] ?? '<value>'}` : '';
    return `${spec.short === undefined ? '    ' : `-${spec.short}, `}--${name}${placeholder}`;
  });
  const width = Math.max(...labels.map((l) => l.length));
  entries.forEach(([, spec], i) => {
    const text = spec.type === 'string' ? spec.help.replace(/^<[^>]+>\s*/, '') : spec.help;
    lines.push(`  ${(labels[i] ?? '').padEnd(width)}  ${text}`);
  });
  return lines.join('\n');
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function intOption(values: OptionValues, name: string, min: number, max: number): number | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}
