import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { CommandError, UsageError, intOption, stringOption, type CliCommand, type OptionValues } from './cli.command';

/** The built gateway beside this file: dist/apps/cli/src → dist/apps/gateway/src/main.js. */
export const GATEWAY_MAIN = path.resolve(__dirname, '..', '..', 'gateway', 'src', 'main.js');

/** Each flag and the gateway environment variable it sets (apps/gateway/src/config). */
const FLAG_ENV: Readonly<Record<string, string>> = {
  port: 'PORT',
  'grpc-port': 'GRPC_PORT',
  host: 'HOST',
  transport: 'NODE_TRANSPORT',
  workers: 'WORKERS',
  'control-plane': 'CONTROLLER',
  'kafka-brokers': 'KAFKA_BROKERS',
  'model-roots': 'MODEL_ROOTS',
  'tls-cert': 'TLS_CERT',
  'tls-key': 'TLS_KEY',
};

const TRANSPORTS = ['inprocess', 'grpc', 'kafka'];

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'Serve graph directories over REST and V2 gRPC: the gateway of `npm start`, in the foreground.',
  usage: 'serve [options] [dirs...]',
  details:
    'The directories (default: graphs) become GRAPHS_DIR; each flag sets one gateway environment variable,\n' +
    'which it overrides. Other variables (OPS_TOKEN, API_KEYS_FILE, LOG_FORMAT, ...) pass through.\n' +
    'Ctrl-C (SIGINT) or SIGTERM drains and stops the gateway; the exit status is the gateway\'s.',
  options: {
    port: { type: 'string', short: 'p', help: '<port> REST port (PORT, default 8080; 0 picks a free one)' },
    'grpc-port': { type: 'string', help: '<port> V2 gRPC port (GRPC_PORT, default 8081)' },
    host: { type: 'string', help: '<address> address to bind (HOST, default 127.0.0.1)' },
    transport: { type: 'string', short: 't', help: `<kind> where graph nodes run: ${TRANSPORTS.join(', ')} (NODE_TRANSPORT)` },
    workers: { type: 'string', help: '<host:port,...> worker addresses for --transport grpc (WORKERS)' },
    'control-plane': { type: 'string', help: '<host:port> controller control plane for --transport grpc (CONTROLLER)' },
    'kafka-brokers': { type: 'string', help: '<host:port,...> Kafka brokers (KAFKA_BROKERS)' },
    'model-roots': { type: 'string', help: '<dirs> comma-separated directories graphs may point into (MODEL_ROOTS)' },
    'tls-cert': { type: 'string', help: '<file> PEM certificate: serve TLS (TLS_CERT)' },
    'tls-key': { type: 'string', help: '<file> PEM key (TLS_KEY)' },
    'dry-run': { type: 'boolean', help: 'print the gateway environment this would start with, as JSON, and exit' },
  },
  async run({ io, settings }, values, positionals) {
    const dirs = positionals.length === 0 ? ['graphs'] : positionals;
    for (const dir of dirs) {
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`not a directory: ${dir}`);
    }
    const env = gatewayEnv(values, dirs);
    if (values['dry-run'] === true) {
      io.out(JSON.stringify(env, null, 2));
      return 0;
    }
    if (!existsSync(GATEWAY_MAIN)) throw new CommandError(`the gateway is not built (${GATEWAY_MAIN} is missing): run \`npm run build\` first`);
    const child = spawn(process.execPath, [GATEWAY_MAIN], { env: { ...settings.env, ...env }, stdio: 'inherit' });
    // The gateway drains on SIGTERM/SIGINT; pass them on and wait for it rather than dying first.
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    return await new Promise<number>((resolve) => {
      child.once('exit', (code, signal) => {
        process.off('SIGINT', forward);
        process.off('SIGTERM', forward);
        resolve(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1));
      });
    });
  },
};

/** The environment variables the flags and directories set. */
export function gatewayEnv(values: OptionValues, dirs: readonly string[]): Record<string, string> {
  intOption(values, 'port', 0, 65535);
  intOption(values, 'grpc-port', 1, 65535);
  const transport = stringOption(values, 'transport');
  if (transport !== undefined && !TRANSPORTS.includes(transport)) throw new UsageError(`--transport must be one of ${TRANSPORTS.join(', ')}, got ${JSON.stringify(transport)}`);
  const env: Record<string, string> = { GRAPHS_DIR: dirs.map((d) => path.resolve(d)).join(',') };
  for (const [flag, variable] of Object.entries(FLAG_ENV)) {
    const value = stringOption(values, flag);
    if (value !== undefined) env[variable] = flag === 'tls-cert' || flag === 'tls-key' ? path.resolve(value) : value;
  }
  return env;
}
