import { CommandError, stringOption, type CommandContext, type OptionSpec, type OptionValues } from './cli.command';
import { causeOf } from './cli.http';

/** The options every controller command takes. */
export const CONTROLLER_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  controller: { type: 'string', short: 'c', help: '<url> controller admin API (INFERGRAPH_CONTROLLER, config file "controller", default http://127.0.0.1:8090)' },
  token: { type: 'string', help: '<token> admin bearer token (INFERGRAPH_TOKEN, config file "token")' },
};

/** A graph as `GET /v1/graphs` lists it (apps/controller GraphDescription). */
export interface DescribedGraph {
  readonly name: string;
  readonly source: string;
  readonly file: string;
  readonly contentHash: string;
  readonly nodes: readonly string[];
  readonly state: 'valid' | 'failed';
  readonly error?: string;
}

export interface ReplicaStatus {
  readonly replica: number;
  readonly worker: string;
  readonly state: 'LOADING' | 'READY' | 'FAILED';
  readonly reason: string;
  readonly leaving?: true;
}

/** The parts of `GET /v1/cluster` the CLI shows (libs/cluster ClusterStatus). */
export interface ClusterStatusJson {
  readonly workers: readonly { id: string; pool: string; address: string; replicas: number; draining: boolean; lastHeartbeatAgeMs: number; free: { cpu: number; memory: string } }[];
  readonly graphs: readonly { name: string; nodes: readonly { key: string; wanted: number; replicas: readonly ReplicaStatus[] }[] }[];
  readonly pending: readonly { key: string; replica: number; reason: string }[];
}

/** The controller's admin REST API, with the URL and token from flags, environment or config file. */
export class ControllerClient {
  private readonly base: string;
  private readonly token: string | undefined;

  constructor({ settings }: CommandContext, values: OptionValues) {
    this.base = (stringOption(values, 'controller') ?? settings.controllerUrl).replace(/\/+$/, '');
    this.token = stringOption(values, 'token') ?? settings.token;
  }

  graphs(): Promise<{ graphs: DescribedGraph[] }> {
    return this.call('GET', '/v1/graphs') as Promise<{ graphs: DescribedGraph[] }>;
  }

  cluster(): Promise<ClusterStatusJson> {
    return this.call('GET', '/v1/cluster') as Promise<ClusterStatusJson>;
  }

  /** Creates or replaces a posted graph; `created` from the 201/200 status. */
  async put(name: string, yaml: string): Promise<{ created: boolean; graph: DescribedGraph }> {
    const { status, body } = await this.request('PUT', `/v1/graphs/${encodeURIComponent(name)}`, yaml);
    return { created: status === 201, graph: body as DescribedGraph };
  }

  remove(name: string): Promise<DescribedGraph> {
    return this.call('DELETE', `/v1/graphs/${encodeURIComponent(name)}`) as Promise<DescribedGraph>;
  }

  private async call(method: string, route: string): Promise<unknown> {
    return (await this.request(method, route)).body;
  }

  private async request(method: string, route: string, yaml?: string): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = {};
    if (this.token !== undefined) headers['authorization'] = `Bearer ${this.token}`;
    if (yaml !== undefined) headers['content-type'] = 'application/yaml';
    const url = `${this.base}${route}`;
    let res: Response;
    try {
      res = await fetch(url, { method, headers, ...(yaml === undefined ? {} : { body: yaml }) });
    } catch (err) {
      throw new CommandError(`cannot reach the controller at ${this.base}: ${causeOf(err)} (set --controller or INFERGRAPH_CONTROLLER)`);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      body = text;
    }
    if (!res.ok) {
      const message = (body as { error?: unknown } | undefined)?.error ?? text;
      const hint = res.status === 401 ? ' (pass --token or set INFERGRAPH_TOKEN)' : '';
      throw new CommandError(`${method} ${url}: ${res.status} ${typeof message === 'string' ? message : JSON.stringify(message)}${hint}`);
    }
    return { status: res.status, body };
  }
}
