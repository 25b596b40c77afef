import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PathPolicy, preparePostedGraphOffLoop } from '@infergraph/engine';
import { CONTROL_MAX_MESSAGE_BYTES, InferenceError } from '@infergraph/protocol';
import { CONTROLLER_CONFIG, type ControllerConfig } from './controller.config';
import { graphFilesIn, readGraphFile, readGraphSource, readGraphSourceOffLoop, type CatalogEntry } from './graph-catalog';
import { GraphConflictError } from './graph-conflict.error';
import { NodeKey, absolutizeGraphPaths, customModuleFields, dnsLabel } from '@infergraph/spec';
import { PostedGraphStore } from './posted-graph.store';

/**
 * Where a desired graph comes from: a file of GRAPHS_DIR (read-only to the API), the admin API, or an
 * InferenceGraph object (CONTROLLER_MODE=kubernetes, where the API server is the only source).
 */
export type GraphSource = 'file' | 'api' | 'kubernetes';

/** One desired graph as the rest of the controller sees it: where it is and what it needs. */
export interface CatalogueGraph extends CatalogEntry {
  readonly source: GraphSource;
  /** What the API shows as its file: the path relative to its GRAPHS_DIR entry, `api`, or `kubernetes`. */
  readonly shownFile: string;
}

/** One graph version in `GET /v1/graphs` and in the answer to every write. */
export interface GraphDescription {
  readonly name: string;
  /** `spec.version` (absent for a graph that failed before it was known). */
  readonly version?: string;
  readonly source: GraphSource;
  readonly file: string;
  readonly contentHash: string;
  readonly nodes: readonly string[];
  readonly state: 'valid' | 'failed';
  readonly error?: string;
}

/**
 * The graph documents the catalogue may hold together: the catalogue goes to gateways in one control
 * message (CONTROL_MAX_MESSAGE_BYTES), with room for the rest of the message.
 */
export const MAX_CATALOGUE_DOCUMENT_BYTES = CONTROL_MAX_MESSAGE_BYTES - 4 * 1024 * 1024;

/** What changed in the catalogue: the graph id (`NodeKey.graphId`), and its new entry (undefined: removed). */
export type CatalogueChange = (name: string, graph: CatalogueGraph | undefined) => void;

/**
 * The desired graphs: files of GRAPHS_DIR, which it only reads, and graphs added through the admin API,
 * kept in STATE_DIR so they survive restarts (in Kubernetes mode: InferenceGraph objects, kept in memory
 * only). A file that cannot be read or parsed is listed as failed, never thrown. Workers and gateways get
 * each graph's document over the control plane. The cluster side only listens to changes.
 */
@Injectable()
export class GraphCatalogueService implements OnModuleInit {
  private readonly logger = new Logger('catalogue');
  /** By graph id: versions of one graph are separate entries. */
  private readonly graphs = new Map<string, CatalogueGraph>();
  /** Graph ids whose stored copy an admin POST or PUT is writing now (see save). */
  private readonly saving = new Set<string>();
  /** Kubernetes mode: the graph id each InferenceGraph object's entry is under (one version per object). */
  private readonly kubeObjects = new Map<string, string>();
  private readonly listeners: CatalogueChange[] = [];
  private readonly store: PostedGraphStore;
  /** Where graphs may point: every GRAPHS_DIR entry (posted graphs' paths resolve against the first) and MODEL_ROOTS. */
  private readonly paths: PathPolicy;

  constructor(@Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig) {
    this.store = new PostedGraphStore(config.stateDir);
    this.paths = new PathPolicy([...config.graphDirs, ...config.modelRoots]);
  }

  /**
   * A STATE_DIR that cannot be created or written stops the start-up here, before any port opens. Kubernetes
   * mode writes nothing: the API server keeps the graphs.
   */
  onModuleInit(): void {
    if (this.config.kubernetes === undefined) this.store.open();
  }

  /** Reads GRAPHS_DIR, then the stored posted graphs; call once, before listeners need the graphs. Never throws. */
  loadFiles(): void {
    if (this.config.kubernetes !== undefined) return;
    const { files, problems } = graphFilesIn(this.config.graphDirs);
    for (const problem of problems) this.logger.error(problem);
    for (const { file, dir } of files) {
      const shownFile = path.relative(dir, file);
      this.load({ ...readGraphFile(file, shownFile, this.paths), source: 'file', shownFile });
    }
    let stored: string[] = [];
    try {
      stored = this.store.files();
    } catch (err) {
      this.logger.error(`cannot list the posted graphs in ${this.store.dir}: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const file of stored) this.load({ ...this.readStored(file), source: 'api', shownFile: 'api' });
  }

  onChange(listener: CatalogueChange): void {
    this.listeners.push(listener);
  }

  list(): CatalogueGraph[] {
    return [...this.graphs.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** One graph version by its graph id. */
  get(id: string): CatalogueGraph | undefined {
    return this.graphs.get(id);
  }

  /** Every version of a graph name. */
  versionsOf(name: string): CatalogueGraph[] {
    return this.list().filter((g) => g.name === name);
  }

  /** The JSON of `GET /v1/graphs`. */
  describe(): { graphs: GraphDescription[] } {
    return { graphs: this.list().map(describeGraph) };
  }

  /**
   * Kubernetes mode: the graph of an InferenceGraph object (`text`: its document, `label`: how problems name
   * it). Relative paths resolve against the models directory (the first MODEL_ROOTS entry). A valid spec is
   * published (a changed one replaces the old, which keeps serving until the new one is ready); an invalid
   * one is not, and a previous valid version of the graph keeps serving. Returns the problems.
   */
  putKubernetesGraph(name: string, text: string, label: string): { error: string | undefined } {
    const kube = this.kubeSettings();
    const absolute = absolutizeGraphPaths(text, kube.modelsDir);
    const bytes = Buffer.from(absolute.text, 'utf8');
    // No file: a name in the models directory, where the graph's relative paths pointed.
    const checked = readGraphSource(bytes, path.join(kube.modelsDir, `${name}.yaml`), label, this.paths);
    const error = checked.error ?? this.versionHeldElsewhere(name, checked) ?? this.overBudget(checked.id, checked.document, label);
    // Each InferenceGraph is one version of a graph (its name, or its infergraph.dev/graph label): the object's
    // entry is under that version's graph id (a failed one under the object's name).
    const existingId = this.kubeObjects.get(name);
    const existing = existingId === undefined ? undefined : this.graphs.get(existingId);
    if (error !== undefined) {
      if (existing !== undefined && existing.error === undefined) return { error };
      const failed: CatalogueGraph = { ...checked, id: name, name, demands: [], scaling: [], error, source: 'kubernetes', shownFile: 'kubernetes' };
      this.keepKubernetesEntry(name, failed);
      this.emit(name, failed);
      return { error };
    }
    if (existing?.error === undefined && existing?.contentHash === checked.contentHash) return { error: undefined };
    const entry: CatalogueGraph = { ...checked, source: 'kubernetes', shownFile: 'kubernetes' };
    this.keepKubernetesEntry(name, entry);
    // A changed spec.version is another graph id: the old version's replicas go.
    if (existing !== undefined && existing.id !== entry.id) this.emit(existing.id, undefined);
    this.logger.log(`graph "${name}" ${existing === undefined ? 'added' : 'replaced'} from ${label} (sha256 ${entry.contentHash.slice(0, 12)}): ${entry.demands.length} placeable node(s)`);
    this.emit(entry.id, entry);
    return { error: undefined };
  }

  /** Kubernetes mode: the graph id an InferenceGraph object's entry is under (its served version), if it has one. */
  kubernetesGraphIdOf(objectName: string): string | undefined {
    return this.kubeObjects.get(objectName);
  }

  /**
   * Kubernetes mode: why an object may not serve this graph version: another object serves it already (two
   * objects labelled with one graph name and the same `spec.version`). The first one applied keeps it.
   */
  private versionHeldElsewhere(objectName: string, checked: CatalogEntry): string | undefined {
    for (const [other, id] of this.kubeObjects) {
      if (other === objectName || id !== checked.id || this.graphs.get(id)?.error !== undefined) continue;
      const namespace = this.kubeSettings().namespace;
      return `graph "${checked.name}" version "${checked.version ?? NodeKey.UNVERSIONED}" is served by InferenceGraph ${namespace}/${other} already: give this object another spec.version, or another infergraph.dev/graph label`;
    }
    return undefined;
  }

  /** Kubernetes mode: the InferenceGraph was deleted; its replicas are unloaded and gateways drop it. */
  removeKubernetesGraph(name: string): void {
    const id = this.kubeObjects.get(name);
    const entry = id === undefined ? undefined : this.graphs.get(id);
    this.kubeObjects.delete(name);
    if (entry === undefined) return;
    this.graphs.delete(entry.id);
    this.logger.log(`graph "${name}" removed: its InferenceGraph was deleted`);
    this.emit(entry.id, undefined);
  }

  /** Puts an InferenceGraph object's entry under its id, in place of the object's previous one. */
  private keepKubernetesEntry(objectName: string, entry: CatalogueGraph): void {
    const previous = this.kubeObjects.get(objectName);
    if (previous !== undefined && previous !== entry.id) this.graphs.delete(previous);
    this.graphs.set(entry.id, entry);
    this.kubeObjects.set(objectName, entry.id);
  }

  private kubeSettings(): NonNullable<ControllerConfig['kubernetes']> {
    const kube = this.config.kubernetes;
    if (kube === undefined) throw new Error('InferenceGraph objects are only read in CONTROLLER_MODE=kubernetes');
    return kube;
  }

  /** In Kubernetes mode the API server is the only source of graphs: the admin API only reads. */
  private refuseInKubernetesMode(): void {
    if (this.config.kubernetes === undefined) return;
    throw new InferenceError(
      'PERMISSION_DENIED',
      'graphs cannot be changed through the admin API in CONTROLLER_MODE=kubernetes; apply, edit or delete InferenceGraph objects with kubectl instead',
    );
  }

  /** `POST /v1/graphs`: adds a graph version (name and `spec.version`) no graph has yet, beside the other versions. */
  async add(body: Uint8Array): Promise<GraphDescription> {
    this.refuseInKubernetesMode();
    const posted = await this.prepare(body);
    return describeGraph((await this.save(posted, 'add')).entry);
  }

  /**
   * `PUT /v1/graphs/{name}`: creates or replaces the posted version the body declares (`spec.version`);
   * other versions keep serving; a GRAPHS_DIR graph cannot be replaced.
   */
  async put(name: string, body: Uint8Array): Promise<{ created: boolean; graph: GraphDescription }> {
    this.refuseInKubernetesMode();
    if (!dnsLabel.safeParse(name).success) throw new InferenceError('INVALID_ARGUMENT', `"${name}" is not a graph name (a DNS-1123 label)`);
    const posted = await this.prepare(body);
    if (posted.name !== undefined && posted.name !== name) {
      throw new InferenceError('INVALID_ARGUMENT', `metadata.name "${posted.name}" does not match the graph in the path, "${name}"`);
    }
    const { entry, created } = await this.save({ ...posted, name }, 'put');
    return { created, graph: describeGraph(entry) };
  }

  /**
   * `DELETE /v1/graphs/{name}` (every version) or `DELETE /v1/graphs/{name}/versions/{version}` (one): removes
   * posted versions and their stored copies; the other versions keep serving.
   */
  remove(name: string, version?: string): GraphDescription[] {
    this.refuseInKubernetesMode();
    const entries = this.versionsOf(name).filter((e) => version === undefined || e.version === version);
    const inFlight = [...this.saving].map((id) => NodeKey.parseGraphId(id)).find((id) => id?.graph === name && (version === undefined || id.version === version));
    if (inFlight !== undefined) throw beingSaved(name, inFlight.version);
    if (entries.length === 0) throw new InferenceError('NOT_FOUND', `unknown graph "${name}"${version === undefined ? '' : ` version ${version}`}`);
    const fromFile = entries.find((e) => e.source === 'file');
    if (fromFile !== undefined) throw readOnly(fromFile, 'deleted');
    for (const entry of entries) {
      try {
        this.store.remove(path.basename(entry.file, '.yaml'));
      } catch (err) {
        throw new InferenceError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
      }
      this.graphs.delete(entry.id);
      this.logger.log(`graph "${name}"${entry.version === undefined ? '' : ` version ${entry.version}`} removed through the API`);
      this.emit(entry.id, undefined);
    }
    return entries.map(describeGraph);
  }

  /**
   * A posted body as it will be stored: screened (size, UTF-8, alias bombs) before anything parses it, and
   * its relative paths made absolute against the first GRAPHS_DIR, where they pointed before graphs had a
   * store of their own. Done in the loading thread (three YAML parses of up to 256 KiB).
   */
  private async prepare(body: Uint8Array): Promise<{ text: string; name: string | undefined }> {
    const baseDir = this.config.graphDirs[0] ?? process.cwd();
    const posted = await preparePostedGraphOffLoop(body, baseDir);
    if ('problem' in posted) throw new InferenceError('INVALID_ARGUMENT', posted.problem);
    const refused = this.refusedModules(posted.moduleFields);
    if (refused !== undefined) throw new InferenceError('INVALID_ARGUMENT', refused);
    return { text: posted.text, name: posted.name };
  }

  /**
   * Validates the document as its stored file (parsed in the background parser thread, so a large graph never
   * holds the loop that answers workers' heartbeats), then stores it atomically and publishes it. `add` refuses a
   * version that exists; `put` replaces a posted one. Everything after the parse runs in one turn, so two
   * requests for one version cannot both pass the check.
   */
  private async save(posted: { text: string; name: string | undefined }, mode: 'add' | 'put'): Promise<{ entry: CatalogueGraph; created: boolean }> {
    const { text, name } = posted;
    const bytes = Buffer.from(text, 'utf8');
    const valid = name !== undefined && dnsLabel.safeParse(name).success;
    const label = `${valid ? name : 'posted'}.yaml`;
    const read = await readGraphSourceOffLoop(bytes, valid ? this.store.fileOf(name) : path.join(this.store.dir, label), label, this.paths, text);
    if (read.error !== undefined) throw new InferenceError('INVALID_ARGUMENT', read.error);
    // Stored as `<id>.yaml`, in the same directory, so its relative paths resolve as checked.
    const checked: CatalogEntry = { ...read, file: this.store.fileOf(read.id) };
    const over = this.overBudget(checked.id, checked.document, label);
    if (over !== undefined) throw new InferenceError('PAYLOAD_TOO_LARGE', over);
    if (this.saving.has(checked.id)) throw beingSaved(checked.name, checked.version);
    const existing = this.graphs.get(checked.id);
    if (existing !== undefined && mode === 'add') throw alreadyExists(existing);
    if (existing?.source === 'file') throw readOnly(existing, 'replaced');
    // Written off the event loop (two fsyncs); until it settles this version is reserved: another POST, PUT
    // or DELETE of it is refused, so the checks above still hold when the entry is published.
    this.saving.add(checked.id);
    try {
      await this.store.save(checked.id, bytes);
    } catch (err) {
      throw new InferenceError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
    } finally {
      this.saving.delete(checked.id);
    }
    const entry: CatalogueGraph = { ...checked, source: 'api', shownFile: 'api' };
    this.graphs.set(entry.id, entry);
    this.logger.log(`graph "${entry.name}" version ${entry.version ?? '?'} ${existing !== undefined ? 'replaced' : 'added'} through the API (sha256 ${entry.contentHash.slice(0, 12)}): ${entry.demands.length} placeable node(s)`);
    this.emit(entry.id, entry);
    return { entry, created: existing === undefined };
  }

  /** A stored posted graph as at start-up; one naming custom modules fails while ALLOW_POSTED_MODULES is off. */
  private readStored(file: string): CatalogEntry {
    const entry = readGraphFile(file, path.basename(file), this.paths);
    if (entry.contentHash === '') return entry;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return entry;
    }
    const refused = this.refusedModules(customModuleFields(text));
    return refused === undefined ? entry : { ...entry, demands: [], scaling: [], error: refused };
  }

  /** Why a posted document may not be served: it names custom modules (code) and ALLOW_POSTED_MODULES is off. */
  private refusedModules(fields: readonly string[]): string | undefined {
    if (this.config.allowPostedModules || fields.length === 0) return undefined;
    return (
      `${fields.join(', ')}: a graph posted through the admin API cannot load custom modules (code that would run on ` +
      'workers and gateways); set ALLOW_POSTED_MODULES=true on the controller to allow it, or put the graph in GRAPHS_DIR'
    );
  }

  /** Start-up: the first of a name wins (files before posted graphs), so a later one never hides a user's file. */
  private load(read: CatalogueGraph): void {
    const over = read.error === undefined ? this.overBudget(read.id, read.document, read.file) : undefined;
    const entry: CatalogueGraph = over === undefined ? read : { ...read, demands: [], scaling: [], error: over };
    const taken = this.graphs.get(entry.id);
    if (taken !== undefined) {
      const fix = entry.source === 'api' ? `remove the stored copy ${entry.file}` : 'rename one of them or give them different spec.version';
      this.logger.error(`graph "${entry.name}"${entry.version === undefined ? '' : ` version ${entry.version}`} of ${entry.file} is ignored: ${taken.file} has the same name and version; ${fix}`);
      return;
    }
    this.graphs.set(entry.id, entry);
    if (entry.error !== undefined) this.logger.error(`graph ${entry.file} is invalid and will not be placed:\n${entry.error}`);
    else this.logger.log(`graph "${entry.name}" (${entry.source === 'file' ? entry.shownFile : 'posted through the API'}): ${entry.demands.length} placeable node(s)`);
    this.emit(entry.id, entry);
  }

  /** Why `document` would not fit beside the other served graphs in one catalogue message; undefined when it fits. */
  private overBudget(id: string, document: string, label: string): string | undefined {
    let total = Buffer.byteLength(document, 'utf8');
    for (const g of this.graphs.values()) if (g.id !== id && g.error === undefined) total += Buffer.byteLength(g.document, 'utf8');
    if (total <= MAX_CATALOGUE_DOCUMENT_BYTES) return undefined;
    return `${label}: the served graphs' documents would take ${total} bytes; they travel to gateways in one control message, so together they may take at most ${MAX_CATALOGUE_DOCUMENT_BYTES} bytes (remove graphs, or split them over several infergraph installations)`;
  }

  private emit(id: string, graph: CatalogueGraph | undefined): void {
    for (const l of this.listeners) l(id, graph);
  }
}

function describeGraph(e: CatalogueGraph): GraphDescription {
  const described = {
    name: e.name,
    ...(e.version === undefined ? {} : { version: e.version }),
    source: e.source,
    file: e.shownFile,
    contentHash: e.contentHash,
    nodes: e.demands.map((d) => d.key),
    state: e.error === undefined ? ('valid' as const) : ('failed' as const),
  };
  return e.error === undefined ? described : { ...described, error: e.error };
}

/** A version whose stored copy is being written by another request (409): retry once that one answers. */
function beingSaved(name: string, version: string | undefined): GraphConflictError {
  return new GraphConflictError(name, `graph "${name}"${version === undefined ? '' : ` version ${version}`} is being saved by another request; retry once it has been answered`);
}

function alreadyExists(existing: CatalogueGraph): GraphConflictError {
  const name = existing.name;
  return existing.source === 'file'
    ? new GraphConflictError(name, `graph "${name}" already exists: it comes from the file ${existing.shownFile} in GRAPHS_DIR, which the API never changes`)
    : new GraphConflictError(name, `graph "${name}" already exists: it was posted through the API; PUT /v1/graphs/${name} replaces it`);
}

function readOnly(existing: CatalogueGraph, verb: 'replaced' | 'deleted'): GraphConflictError {
  return new GraphConflictError(
    existing.name,
    `graph "${existing.name}" comes from the file ${existing.shownFile} in GRAPHS_DIR and cannot be ${verb} through the API; edit or remove the file and restart the controller`,
  );
}
