// Kubernetes manifests for tests, offline: render a kustomization with `kubectl kustomize`,
// validate each object against the Kubernetes schemas (kubernetes-models) plus a strict
// check for fields those schemas do not know, find objects and pods in a render, and run a
// container's command on this machine (its volumes in a folder, its paths moved there).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job, type IJob } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Pod, type IPod } from 'kubernetes-models/v1/Pod';
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { CLI, NODE_ARGS, ROOT, tempDir } from './cli.js';
import { Proc } from './cluster.js';

export const KUBECTL = (process.env.PATH ?? '')
  .split(delimiter)
  .map((d) => join(d, 'kubectl'))
  .find((f) => existsSync(f));
export const NAMESPACE = 'gradwire';
export const NAME_LABEL = 'app.kubernetes.io/name';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
}

// Every kind the manifests may use: its model (schema validation) and its TypeScript interface
// (the field names the strict check allows). A kind missing here fails the test.
export const KINDS: Record<string, { validate: (o: Manifest) => void; module: string; iface: string }> = {
  'v1/Namespace': {
    validate: (o) => new Namespace(o as never).validate(),
    module: 'kubernetes-models/v1/Namespace',
    iface: 'INamespace',
  },
  'v1/ConfigMap': {
    validate: (o) => new ConfigMap(o as never).validate(),
    module: 'kubernetes-models/v1/ConfigMap',
    iface: 'IConfigMap',
  },
  'v1/Secret': {
    validate: (o) => new Secret(o as never).validate(),
    module: 'kubernetes-models/v1/Secret',
    iface: 'ISecret',
  },
  'v1/Service': {
    validate: (o) => new Service(o as never).validate(),
    module: 'kubernetes-models/v1/Service',
    iface: 'IService',
  },
  'v1/PersistentVolumeClaim': {
    validate: (o) => new PersistentVolumeClaim(o as never).validate(),
    module: 'kubernetes-models/v1/PersistentVolumeClaim',
    iface: 'IPersistentVolumeClaim',
  },
  'v1/Pod': {
    validate: (o) => new Pod(o as never).validate(),
    module: 'kubernetes-models/v1/Pod',
    iface: 'IPod',
  },
  'apps/v1/Deployment': {
    validate: (o) => new Deployment(o as never).validate(),
    module: 'kubernetes-models/apps/v1/Deployment',
    iface: 'IDeployment',
  },
  'batch/v1/Job': {
    validate: (o) => new Job(o as never).validate(),
    module: 'kubernetes-models/batch/v1/Job',
    iface: 'IJob',
  },
  'networking.k8s.io/v1/NetworkPolicy': {
    validate: (o) => new NetworkPolicy(o as never).validate(),
    module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    iface: 'INetworkPolicy',
  },
};

export function kindOf(o: Manifest): (typeof KINDS)[string] {
  const kind = KINDS[`${o.apiVersion}/${o.kind}`];
  if (!kind) throw new Error(`${o.kind} ${o.metadata?.name}: no schema for ${o.apiVersion} ${o.kind}; map it in KINDS`);
  return kind;
}

/** The field names kubernetes-models knows, read from its TypeScript interfaces (generated from
 *  the same OpenAPI schemas as its validators, which ignore unknown fields). */
export class FieldCheck {
  private readonly checker: ts.TypeChecker;
  private readonly kinds: ts.Type;

  constructor() {
    const file = join(ROOT, 'test/helpers/k8s-kinds.virtual.mts');
    const source = `${Object.values(KINDS)
      .map((k) => `import type { ${k.iface} } from '${k.module}';`)
      .join('\n')}
export interface Kinds { ${Object.entries(KINDS)
      .map(([key, k]) => `'${key}': ${k.iface};`)
      .join(' ')} }\n`;
    const options: ts.CompilerOptions = {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists } = host;
    host.getSourceFile = (f, ...rest) =>
      f === file ? ts.createSourceFile(f, source, ts.ScriptTarget.ES2022) : getSourceFile.call(host, f, ...rest);
    host.fileExists = (f) => f === file || fileExists.call(host, f);
    const program = ts.createProgram([file], options, host);
    const errors = ts.getPreEmitDiagnostics(program, program.getSourceFile(file));
    if (errors.length)
      throw new Error(
        `kubernetes-models types: ${errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')).join('; ')}`,
      );
    this.checker = program.getTypeChecker();
    const exports = this.checker.getExportsOfModule(this.checker.getSymbolAtLocation(program.getSourceFile(file)!)!);
    this.kinds = this.checker.getDeclaredTypeOfSymbol(exports.find((s) => s.name === 'Kinds')!);
  }

  /** `kind/name.path.to.field: not a field of T (did you mean …?)` for every unknown field */
  unknownFields(o: Manifest): string[] {
    kindOf(o);
    const problems: string[] = [];
    const type = this.checker.getTypeOfSymbol(this.checker.getPropertyOfType(this.kinds, `${o.apiVersion}/${o.kind}`)!);
    this.walk(o, type, `${o.kind}/${o.metadata?.name}`, problems);
    return problems;
  }

  private walk(value: unknown, declared: ts.Type, path: string, problems: string[]): void {
    if (value === null || typeof value !== 'object') return; // scalars: the schema validation's job
    let type = this.checker.getNonNullableType(declared);
    if (type.flags & ts.TypeFlags.Any)
      throw new Error(`${path}: kubernetes-models gives no type here (did its types fail to load?)`);
    if (type.isUnion()) type = type.types.find((t) => t.flags & ts.TypeFlags.Object) ?? type;
    if (!(type.flags & ts.TypeFlags.Object)) return; // an object where a scalar belongs: the schema validation says so
    if (Array.isArray(value)) {
      const element = this.checker.isArrayType(type)
        ? this.checker.getTypeArguments(type as ts.TypeReference)[0]
        : undefined;
      if (element) value.forEach((v, i) => this.walk(v, element, `${path}[${i}]`, problems));
      return;
    }
    const map = this.checker.getIndexTypeOfType(type, ts.IndexKind.String); // labels, data, limits, …
    for (const [key, v] of Object.entries(value)) {
      const field = this.checker.getPropertyOfType(type, key);
      if (field) this.walk(v, this.checker.getTypeOfSymbol(field), `${path}.${key}`, problems);
      else if (map) this.walk(v, map, `${path}.${key}`, problems);
      else
        problems.push(
          `${path}.${key}: not a field of ${this.checker.typeToString(type)}${didYouMean(
            key,
            this.checker.getPropertiesOfType(type).map((p) => p.name),
          )}`,
        );
    }
  }
}

function didYouMean(key: string, known: string[]): string {
  const distance = (a: string, b: string): number => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++)
        next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      row = next;
    }
    return row[b.length]!;
  };
  const best = known.map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= 3 ? ` (did you mean "${best.k}"?)` : ` (fields: ${known.join(', ')})`;
}

export function parseManifests(text: string, source: string): Manifest[] {
  return Array.from(parseAllDocuments(text)).flatMap((doc) => {
    if (doc.errors.length) throw new Error(`${source}: ${doc.errors[0]!.message}`);
    const o = doc.toJSON() as Manifest | null;
    return o ? [o] : [];
  });
}

/** kustomize wraps a Secret's base64 data at 70 columns; the API server's decoder (Go's
 *  encoding/base64) skips the line breaks, the schema's "byte" format does not. */
export function unwrapSecretData(o: Manifest): Manifest {
  if (o.kind !== 'Secret') return o;
  const data = (o as unknown as ISecret).data ?? {};
  return {
    ...o,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.replace(/[\r\n]/g, '')])),
  } as Manifest;
}

export function render(dir: string): Manifest[] {
  return parseManifests(execFileSync(KUBECTL!, ['kustomize', join(ROOT, dir)], { encoding: 'utf8' }), dir);
}

export function find<T>(objs: Manifest[], kind: string, name?: string): T {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind}${name ? ` ${name}` : ''} in the render`);
  return o as unknown as T;
}

export interface PodOf {
  owner: string;
  labels: Record<string, string>;
  spec: IPodSpec;
}

export function pods(objs: Manifest[]): PodOf[] {
  return objs.flatMap((o): PodOf[] => {
    const owner = `${o.kind}/${o.metadata.name}`;
    if (o.kind === 'Deployment' || o.kind === 'Job') {
      const t = (o as unknown as IDeployment | IJob).spec!.template;
      return [{ owner, labels: t.metadata?.labels ?? {}, spec: t.spec! }];
    }
    if (o.kind === 'Pod') return [{ owner, labels: o.metadata.labels ?? {}, spec: (o as unknown as IPod).spec! }];
    return [];
  });
}

export const envValue = (c: IContainer, name: string): string | undefined => c.env?.find((e) => e.name === name)?.value;

/** the mount a path is under, the deepest one */
export function mountOf(c: IContainer, path: string) {
  return (c.volumeMounts ?? [])
    .filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
}

/** `kind/namespace/name`: what `kubectl delete` deletes */
export const objectKey = (o: Manifest): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Does a label selector's matchLabels select these labels? */
export const selects = (matchLabels: Record<string, string> | undefined, labels: Record<string, string>): boolean =>
  Object.keys(matchLabels ?? {}).length > 0 && Object.entries(matchLabels!).every(([k, v]) => labels[k] === v);

/** The mount paths of a container, longest first, as a regex alternation */
function mountPattern(c: IContainer): string {
  return (c.volumeMounts ?? [])
    .map((m) => m.mountPath)
    .sort((a, b) => b.length - a.length)
    .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|');
}

/** A container's shell command line: `sh -c SCRIPT [$0 [ARGS...]]`, from command and args */
function shellOf(c: IContainer): { script: string; positional: string[] } | null {
  const all = [...(c.command ?? []), ...(c.args ?? [])];
  if (all[0] !== 'sh' || all[1] !== '-c' || all[2] === undefined) return null;
  return { script: all[2], positional: all.slice(3) };
}

/** The gradwire command lines a container runs. Without `command` the args go to the image's
 *  entrypoint, gradwire; a `sh -c` wrapper is run for real, with its volumes moved to a temp
 *  folder (`prepare` may put files there first) and a stand-in `gradwire` that records its
 *  arguments. */
export function gradwireInvocation(c: IContainer, prepare: (volumes: string) => void = () => {}): string[] | null {
  if (!c.command) return c.args ?? [];
  if (c.command[0] === 'gradwire') return [...c.command.slice(1), ...(c.args ?? [])];
  const shell = shellOf(c);
  if (!shell) return null;
  const volumes = tempDir('gradwire-k8s-volumes-');
  prepare(volumes);
  const bin = tempDir('gradwire-k8s-bin-');
  writeFileSync(join(bin, 'gradwire'), '#!/bin/sh\nprintf \'%s\\n\' "$@" > "$GRADWIRE_ARGV_FILE"\n');
  chmodSync(join(bin, 'gradwire'), 0o755);
  // every absolute path under a mount (one pass: the temp folder is itself under /tmp)
  const mounts = mountPattern(c);
  const move = (text: string): string =>
    mounts ? text.replace(new RegExp(`(^|[\\s="'])(${mounts})(?=[/\\s"']|$)`, 'gm'), `$1${volumes}$2`) : text;
  const argvFile = join(bin, 'argv');
  const r = spawnSync('sh', ['-c', move(shell.script), ...shell.positional.map(move)], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}`, GRADWIRE_ARGV_FILE: argvFile },
  });
  if (!existsSync(argvFile))
    throw new Error(`${c.name}: its shell command ran no gradwire (exit ${r.status}): ${r.stderr}`);
  return readFileSync(argvFile, 'utf8')
    .trimEnd()
    .split('\n')
    .map((a) => a.replaceAll(volumes, ''));
}

/** The sweep container's command line after a restart: its --out holds the sweep it started. */
export function sweepRestartInvocation(c: IContainer): string[] {
  const first = gradwireInvocation(c)!;
  const out = first[first.indexOf('--out') + 1]!;
  return gradwireInvocation(c, (volumes) => {
    mkdirSync(join(volumes, out), { recursive: true });
    writeFileSync(join(volumes, out, 'sweep.json'), '{}');
  })!;
}

/** A pod's container on this machine: `root` stands for the pod's file system. */
export interface LocalContainer {
  root: string;
  /** a path in the container → the same file here */
  path: (p: string) => string;
  /** its environment as the container has it, paths moved */
  env: Record<string, string>;
}

/** Write the files a container's volumes hold under `root`: a ConfigMap's data from the render,
 *  a Secret's from `secrets` (Secrets are made by hand, so no render holds them), with the
 *  Secret volume's `items` if it has them; an empty folder for any other volume. */
export function materialize(
  pod: PodOf,
  c: IContainer,
  objs: Manifest[],
  root: string,
  secrets: Record<string, Record<string, string>>,
): LocalContainer {
  for (const m of c.volumeMounts ?? []) {
    const v = pod.spec.volumes!.find((x) => x.name === m.name)!;
    const dir = join(root, m.mountPath);
    mkdirSync(dir, { recursive: true });
    if (v.configMap) {
      for (const [k, text] of Object.entries(find<IConfigMap>(objs, 'ConfigMap', v.configMap.name).data ?? {}))
        writeFileSync(join(dir, k), text);
    } else if (v.secret) {
      const data = secrets[v.secret.secretName!];
      if (!data) throw new Error(`${pod.owner}: no test data for the Secret ${v.secret.secretName}`);
      for (const item of v.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }))) {
        if (data[item.key] === undefined)
          throw new Error(`${pod.owner}: the Secret ${v.secret.secretName} has no key ${item.key}`);
        writeFileSync(join(dir, item.path), data[item.key]!);
      }
    }
  }
  const mounts = mountPattern(c);
  const path = (p: string): string => (mounts && new RegExp(`^(${mounts})(/|$)`).test(p) ? join(root, p) : p);
  const env = Object.fromEntries(
    (c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, path(e.value!)]),
  );
  return { root, path, env };
}

const NODE = process.execPath;
const local: Proc[] = [];

/** Run a container's command on this machine, as the kubelet would start it: a `sh -c` wrapper
 *  for real, with a `gradwire` on its PATH that runs this repository's CLI; its args and
 *  environment with their paths moved under the container's root, `--listen 0.0.0.0:P` on
 *  127.0.0.1:0 and `env` on top (e.g. GRADWIRE_CONNECT to the local coordinator). The process
 *  gets its own process group, which `killLocal` ends. */
export function runLocal(name: string, c: IContainer, lc: LocalContainer, env: Record<string, string> = {}): Proc {
  const bin = tempDir('gradwire-k8s-bin-');
  writeFileSync(join(bin, 'gradwire'), `#!/bin/sh\nexec "${NODE}" ${NODE_ARGS.join(' ')} "${CLI}" "$@"\n`);
  chmodSync(join(bin, 'gradwire'), 0o755);
  const move = (a: string): string => (/^0\.0\.0\.0:\d+$/.test(a) ? '127.0.0.1:0' : lc.path(a));
  const shell = shellOf(c);
  const [file, args] = shell
    ? ['sh', ['-c', shell.script, ...shell.positional.map(move)]]
    : c.command
      ? [c.command[0]!, [...c.command.slice(1), ...(c.args ?? [])].map(move)]
      : ['gradwire', (c.args ?? []).map(move)];
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRADWIRE_')));
  const child = spawn(file, args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...inherited,
      FORCE_COLOR: '0',
      ...lc.env,
      ...env,
      PATH: `${bin}${delimiter}${process.env.PATH}`,
    },
  });
  const p = new Proc(name, child);
  local.push(p);
  return p;
}

/** End every process `runLocal` started, with its children. */
export async function killLocal(): Promise<void> {
  for (const p of local.splice(0)) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
    await p.exited;
  }
}
