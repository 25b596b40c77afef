import type { LogLevelName } from './telemetry.config';

type Level = LogLevelName | 'fatal';

const RANK: Readonly<Record<Level, number>> = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4, verbose: 5 };

/** NestJS's start-up chatter (one line per module and route): debug, so info shows what matters. */
const NEST_BOOT_CONTEXTS: ReadonlySet<string> = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory']);

/** Structured fields of one record; `msg` is its human-readable message. */
export type LogFields = Readonly<Record<string, unknown>> & { readonly msg: string };

export interface StructuredLoggerOptions {
  /** Which process writes: gateway, worker or controller. */
  readonly component: string;
  readonly format: 'text' | 'json';
  readonly level: LogLevelName;
  /** Where lines go (default: stdout). */
  readonly write?: (line: string) => void;
}

/**
 * One logger for the whole process, NestJS's included (it has the LoggerService methods). JSON format
 * writes one object per line: time, level, component, pid, context, msg and the record's own fields
 * (request id, graph, node, route, duration...). Text format writes the same as `key=value` pairs.
 */
export class StructuredLogger {
  private readonly threshold: number;
  private readonly write: (line: string) => void;

  constructor(private readonly options: StructuredLoggerOptions) {
    this.threshold = RANK[options.level];
    this.write = options.write ?? ((line) => process.stdout.write(line));
  }

  enabled(level: Level): boolean {
    return RANK[level] <= this.threshold;
  }

  /** A structured record under a context (e.g. "request"). */
  record(level: Level, context: string, fields: LogFields): void {
    if (this.enabled(level)) this.emit(level, context, fields);
  }

  log(message: unknown, ...params: unknown[]): void {
    this.nest('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.nest('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.nest('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.nest('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.nest('verbose', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.nest('fatal', message, params);
  }

  /** NestJS passes the context last, and for errors a stack before it. */
  private nest(asked: Level, message: unknown, params: unknown[]): void {
    const context = params.length > 0 && typeof params[params.length - 1] === 'string' ? (params[params.length - 1] as string) : 'app';
    const level = asked === 'info' && NEST_BOOT_CONTEXTS.has(context) ? 'debug' : asked;
    if (!this.enabled(level)) return;
    const stack = params.length > 1 && typeof params[0] === 'string' ? params[0] : message instanceof Error ? message.stack : undefined;
    let fields: LogFields;
    if (message instanceof Error) fields = { msg: message.message };
    else if (typeof message === 'object' && message !== null) fields = { msg: '', ...(message as Record<string, unknown>) };
    else fields = { msg: String(message) };
    this.emit(level, context, stack === undefined || level !== 'error' ? fields : { ...fields, stack });
  }

  private emit(level: Level, context: string, fields: LogFields): void {
    const time = new Date().toISOString();
    if (this.options.format === 'json') {
      this.write(`${JSON.stringify({ time, level, component: this.options.component, pid: process.pid, context, ...fields })}\n`);
      return;
    }
    const { msg, ...rest } = fields;
    const pairs = Object.entries(rest).map(([k, v]) => `${k}=${textValue(v)}`);
    this.write(`${time} ${level.toUpperCase().padEnd(7)} ${this.options.component} [${context}] ${msg}${pairs.length > 0 ? ` ${pairs.join(' ')}` : ''}\n`);
  }
}

function textValue(v: unknown): string {
  if (typeof v === 'string') return /^[\w.:/@-]+$/.test(v) ? v : JSON.stringify(v);
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}
