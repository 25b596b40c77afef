import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { UsageError } from './cli.command';

/** The config file's fields (JSON): defaults for --controller, --token and --url. */
const configFileSchema = z.strictObject({
  controller: z.url().optional(),
  token: z.string().min(1).optional(),
  gateway: z.url().optional(),
});

export interface CliSettings {
  /** Environment of the CLI process: passed on to `serve`'s gateway. */
  readonly env: Readonly<NodeJS.ProcessEnv>;
  /** INFERGRAPH_CONTROLLER, else the config file, else the controller's default loopback address. */
  readonly controllerUrl: string;
  /** INFERGRAPH_TOKEN, else the config file: the controller's admin bearer token. */
  readonly token: string | undefined;
  /** INFERGRAPH_GATEWAY, else the config file, else the gateway's default loopback address. */
  readonly gatewayUrl: string;
  /** Where the config file was looked for. */
  readonly configFile: string;
}

export const DEFAULT_CONTROLLER_URL = 'http://127.0.0.1:8090';
export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8080';

/**
 * Reads the environment and the config file once (INFERGRAPH_CONFIG, else
 * $XDG_CONFIG_HOME/infergraph/config.json, else ~/.config/infergraph/config.json). A missing file is fine;
 * a broken one is a usage error naming the file and field.
 */
export function loadCliSettings(env: NodeJS.ProcessEnv): CliSettings {
  const configFile =
    nonEmpty(env['INFERGRAPH_CONFIG']) ?? path.join(nonEmpty(env['XDG_CONFIG_HOME']) ?? path.join(homedir(), '.config'), 'infergraph', 'config.json');
  const file = readConfigFile(configFile, nonEmpty(env['INFERGRAPH_CONFIG']) !== undefined);
  return Object.freeze({
    env,
    controllerUrl: nonEmpty(env['INFERGRAPH_CONTROLLER']) ?? file.controller ?? DEFAULT_CONTROLLER_URL,
    token: nonEmpty(env['INFERGRAPH_TOKEN']) ?? file.token,
    gatewayUrl: nonEmpty(env['INFERGRAPH_GATEWAY']) ?? file.gateway ?? DEFAULT_GATEWAY_URL,
    configFile,
  });
}

function readConfigFile(file: string, required: boolean): z.infer<typeof configFileSchema> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`cannot read the config file ${file} (INFERGRAPH_CONFIG): ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`config file ${file} is not JSON: ${(err as Error).message}`);
  }
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ');
    throw new UsageError(`config file ${file}: ${issues} (fields: controller, token, gateway)`);
  }
  return parsed.data;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
