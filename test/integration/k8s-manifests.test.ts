// The Kubernetes manifests in deploy/k8s, checked offline against their real render
// (`kubectl kustomize`): every object against the Kubernetes schemas (kubernetes-models) plus
// a strict check for fields those schemas do not have; what outlives a run (base) and that no
// two kustomizations own the same object; the run and the sweep as Jobs that end; the token
// as a read-only file from a Secret nobody commits; the NetworkPolicy; the TLS overlay; the
// pool size set once; datasets from a ConfigMap or a volume; the gradwire commands and flags
// they use; and the Jobs' containers and probes run for real on this machine.
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { dirname, join, relative } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { loadRunConfig } from '../../coordinator/run/config-file.js';
import { loadDataset } from '../../coordinator/run/datasets.js';
import { ROOT, gradwire, tempDir } from '../helpers/cli.js';
import { opensslMissing, selfSignedCert } from '../helpers/tls.js';
import type { Proc } from '../helpers/cluster.js';
import {
  COMPONENT_LABEL,
  FieldCheck,
  KUBECTL,
  NAMESPACE,
  NAME_LABEL,
  envValue,
  find,
  gradwireInvocation,
  killLocal,
  kindOf,
  materialize,
  mountOf,
  objectKey,
  parseManifests,
  pods,
  render,
  runLocal,
  selects,
  sweepRestartInvocation,
  unwrapSecretData,
  type Manifest,
  type PodOf,
} from '../helpers/k8s.js';

const K8S = 'deploy/k8s';
/** every kustomization under deploy/k8s (a new one must be added here: a test checks) */
const DIRS = {
  base: `${K8S}/base`,
  run: `${K8S}/run`,
  sweep: `${K8S}/sweep`,
  pool: `${K8S}/pool`,
  runTls: `${K8S}/examples/run-tls`,
  runMetrics: `${K8S}/examples/run-metrics`,
  csv: `${K8S}/examples/datasets-configmap`,
  pvc: `${K8S}/examples/datasets-pvc`,
} as const;
type Dir = keyof typeof DIRS;
/** pods applied with kubectl apply -f, in no kustomization */
const LOOSE = [`${K8S}/outputs-pod.yaml`, `${K8S}/datasets-pod.yaml`];
/** the kustomizations that own objects of their own; the examples are variants of run */
const OWNERS: Dir[] = ['base', 'run', 'sweep', 'pool'];
const RUN_VARIANTS: Dir[] = ['run', 'runTls', 'runMetrics', 'csv', 'pvc'];
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** peak resident memory measured on the default MNIST run (MB, VmHWM of one worker doing every
 *  step, run from source with tsx): the limits keep a margin over it. worker: the manifests'
 *  workers, 2 threads (GRADWIRE_THREADS=auto under limits.cpu "2"), as the sweep's one local
 *  worker */
const MEASURED_MB = { coordinator: 240, worker: 245 };
const TOKEN_SECRET = 'gradwire-token';
const TLS_SECRET = 'gradwire-tls';

function cpuCores(q: string | number): number {
  return typeof q === 'number' ? q : q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}

function megabytes(q: string | number): number {
  if (typeof q === 'number') return q / 1e6;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(q);
  if (!m) throw new Error(`memory quantity ${q}`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return (Number(m[1]) * unit) / 1e6;
}

const argAfter = (args: string[], flag: string): string | undefined =>
  args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined;

/** every folder under deploy/k8s with a kustomization.yaml: its kind (Kustomization or Component) */
function kustomizationsOnDisk(): Record<string, string> {
  const found: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(ROOT, dir))) {
      const path = `${dir}/${name}`;
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (name === 'kustomization.yaml')
        found[dir] = /^kind:\s*(\w+)/m.exec(readFileSync(join(ROOT, path), 'utf8'))?.[1] ?? 'Kustomization';
    }
  };
  walk(K8S);
  return found;
}

/** the job's first container, and its pod */
function podOf(objs: Manifest[], kind: 'Job' | 'Deployment', name: string): { pod: PodOf; c: IContainer } {
  const pod = pods(objs).find((p) => p.owner === `${kind}/${name}`);
  if (!pod) throw new Error(`no ${kind}/${name} in the render`);
  return { pod, c: pod.spec.containers[0]! };
}

/** The mount a path is on and the volume behind it */
function volumeOf(pod: PodOf, c: IContainer, path: string) {
  const mount = mountOf(c, path);
  return { mount, volume: mount && pod.spec.volumes?.find((v) => v.name === mount.name) };
}

const suite = KUBECTL ? describe : describe.skip;
if (!KUBECTL)
  console.warn(
    'test/integration/k8s-manifests.test.ts: skipped: kubectl is not on PATH (it renders deploy/k8s with `kubectl kustomize`)',
  );

suite(
  KUBECTL
    ? 'the Kubernetes manifests in deploy/k8s'
    : 'the Kubernetes manifests in deploy/k8s (skipped: kubectl is not on PATH; the test renders them with `kubectl kustomize`)',
  () => {
    const r = {} as Record<Dir, Manifest[]>;
    let loose: Manifest[];
    let all: Manifest[];
    let fields: FieldCheck;
    let runCoordinator: { pod: PodOf; c: IContainer };
    let runWorker: { pod: PodOf; c: IContainer };
    let poolCoordinator: { pod: PodOf; c: IContainer };
    let poolWorker: { pod: PodOf; c: IContainer };
    let sweeper: IContainer;

    beforeAll(() => {
      for (const [k, dir] of Object.entries(DIRS)) r[k as Dir] = render(dir);
      loose = LOOSE.flatMap((f) => parseManifests(readFileSync(join(ROOT, f), 'utf8'), f));
      all = [...Object.values(r).flat(), ...loose];
      fields = new FieldCheck();
      runCoordinator = podOf(r.run, 'Job', 'gradwire-coordinator');
      runWorker = podOf(r.run, 'Job', 'gradwire-worker');
      poolCoordinator = podOf(r.pool, 'Deployment', 'gradwire-pool-coordinator');
      poolWorker = podOf(r.pool, 'Deployment', 'gradwire-pool-worker');
      sweeper = find<IJob>(r.sweep, 'Job').spec!.template.spec!.containers[0]!;
    });

    /** every pod of every render, once (the examples' pods included) */
    const allPods = (): PodOf[] => pods(all);
    /** the containers that run `gradwire coordinator` or `gradwire worker`, in every render */
    const roleContainers = (): Array<{ where: string; pod: PodOf; c: IContainer; role: string }> =>
      Object.entries(r)
        .flatMap(([dir, objs]) =>
          pods(objs).flatMap((pod) =>
            pod.spec.containers.map((c) => ({
              where: `${dir} ${pod.owner}`,
              pod,
              c,
              role: gradwireInvocation(c)?.[0] ?? '',
            })),
          ),
        )
        .filter((x) => x.role === 'coordinator' || x.role === 'worker');

    describe('schemas', () => {
      it('every kustomization and component under deploy/k8s is rendered (or used) by this test', () => {
        const onDisk = kustomizationsOnDisk();
        const kustomizations = Object.entries(onDisk)
          .filter(([, kind]) => kind === 'Kustomization')
          .map(([d]) => d)
          .sort();
        expect(kustomizations).toEqual(Object.values(DIRS).sort());
        const components = Object.entries(onDisk)
          .filter(([, kind]) => kind === 'Component')
          .map(([d]) => d);
        expect(components.length).toBeGreaterThan(0);
        const used = Object.values(DIRS).flatMap((d) => {
          const text = readFileSync(join(ROOT, d, 'kustomization.yaml'), 'utf8');
          return [...text.matchAll(/^\s+- (\.\.\/\S+)$/gm)].map((m) => join(d, m[1]!));
        });
        for (const c of components) expect(used, `${c} is used by no rendered kustomization`).toContain(c);
      });

      it('every rendered object is valid against the Kubernetes schema of its kind and has no unknown fields', () => {
        const problems: string[] = [];
        for (const o of all) {
          try {
            kindOf(o).validate(unwrapSecretData(o));
          } catch (e) {
            problems.push(`${o.kind}/${o.metadata?.name}: ${(e as Error).message}`);
            continue;
          }
          problems.push(...fields.unknownFields(o));
        }
        expect(problems).toEqual([]);
        const kinds = (objs: Manifest[]) => objs.map((o) => o.kind).sort();
        expect(kinds(r.base)).toEqual([
          'Namespace',
          'PersistentVolumeClaim',
          'PersistentVolumeClaim',
          'PersistentVolumeClaim',
        ]);
        expect(kinds(r.run)).toEqual(['ConfigMap', 'Job', 'Job', 'NetworkPolicy', 'Service']);
        expect(kinds(r.sweep)).toEqual(['Job']);
        expect(kinds(r.pool)).toEqual(['ConfigMap', 'Deployment', 'Deployment', 'NetworkPolicy', 'Service']);
        for (const d of RUN_VARIANTS) expect(kinds(r[d]), d).toEqual(kinds(r.run));
        expect(kinds(loose)).toEqual(['Pod', 'Pod']);
      });

      it('a misspelled field passes kubernetes-models alone but fails the strict check, which names the field meant', () => {
        const typo = structuredClone(find<IDeployment>(r.pool, 'Deployment', 'gradwire-pool-coordinator'));
        const rename = (o: object, from: string, to: string) => {
          const fields = o as Record<string, unknown>;
          fields[to] = fields[from];
          delete fields[from];
        };
        rename(typo.spec!.strategy!, 'type', 'tpye');
        rename(typo.spec!.template.spec!.containers[0]!, 'readinessProbe', 'readinesProbe');
        rename(typo.spec!.template.spec!.containers[0]!, 'imagePullPolicy', 'imagePullPolcy');
        expect(() => new Deployment(typo).validate()).not.toThrow();
        expect(fields.unknownFields(typo as unknown as Manifest)).toEqual([
          'Deployment/gradwire-pool-coordinator.spec.strategy.tpye: not a field of IDeploymentStrategy (did you mean "type"?)',
          'Deployment/gradwire-pool-coordinator.spec.template.spec.containers[0].readinesProbe: not a field of IContainer (did you mean "readinessProbe"?)',
          'Deployment/gradwire-pool-coordinator.spec.template.spec.containers[0].imagePullPolcy: not a field of IContainer (did you mean "imagePullPolicy"?)',
        ]);
        const job = structuredClone(find<IJob>(r.run, 'Job', 'gradwire-worker'));
        rename(job.spec!, 'successPolicy', 'sucessPolicy');
        expect(fields.unknownFields(job as unknown as Manifest)).toEqual([
          'Job/gradwire-worker.spec.sucessPolicy: not a field of IJobSpec (did you mean "successPolicy"?)',
        ]);
      });

      it('a wrong value type fails the schema validation', () => {
        const bad = structuredClone(find<IJob>(r.run, 'Job', 'gradwire-worker'));
        (bad.spec as unknown as Record<string, unknown>).parallelism = 'two';
        expect(() => kindOf(bad as unknown as Manifest).validate(bad as unknown as Manifest)).toThrow(
          /parallelism must be integer/,
        );
      });

      it('a kind without a schema mapping fails instead of passing unchecked', () => {
        const o: Manifest = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'x' } };
        expect(() => kindOf(o)).toThrow(/no schema for apps\/v1 StatefulSet/);
      });
    });

    describe('what outlives a run: base, and no two kustomizations own the same object', () => {
      it('only base holds the Namespace and the volumes; every object lives in the gradwire namespace', () => {
        const owners = (kind: string) =>
          Object.entries(r)
            .filter(([, objs]) => objs.some((o) => o.kind === kind))
            .map(([d]) => d);
        expect(owners('Namespace')).toEqual(['base']);
        expect(owners('PersistentVolumeClaim')).toEqual(['base']);
        expect(find<Manifest>(r.base, 'Namespace').metadata.name).toBe(NAMESPACE);
        expect(
          r.base
            .filter((o) => o.kind === 'PersistentVolumeClaim')
            .map((o) => o.metadata.name)
            .sort(),
        ).toEqual(['gradwire-datasets', 'gradwire-runs', 'gradwire-sweeps']);
        for (const o of all.filter((x) => x.kind !== 'Namespace'))
          expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(NAMESPACE);
      });

      it('base, run, sweep and pool render disjoint sets of objects (kind/namespace/name): deleting one leaves the others', () => {
        for (const a of OWNERS) {
          for (const b of OWNERS.filter((x) => x > a)) {
            const keys = new Set(r[a].map(objectKey));
            expect(
              r[b].map(objectKey).filter((k) => keys.has(k)),
              `${a} and ${b}`,
            ).toEqual([]);
          }
        }
        // the examples are variants of run (apply one of them instead of run): they own none of
        // the others' objects either
        const others = new Set(['base', 'sweep', 'pool'].flatMap((d) => r[d as Dir].map(objectKey)));
        for (const d of RUN_VARIANTS)
          expect(
            r[d].map(objectKey).filter((k) => others.has(k)),
            d,
          ).toEqual([]);
      });

      it("outputs land on base's volumes: runs on gradwire-runs, the sweep on gradwire-sweeps; the outputs pod mounts both read-only at the same paths", () => {
        const claimOf = (pod: PodOf, c: IContainer, path: string) =>
          volumeOf(pod, c, path).volume?.persistentVolumeClaim?.claimName;
        const out = (c: IContainer) => argAfter(gradwireInvocation(c)!, '--out')!;
        expect(claimOf(runCoordinator.pod, runCoordinator.c, out(runCoordinator.c))).toBe('gradwire-runs');
        expect(claimOf(poolCoordinator.pod, poolCoordinator.c, out(poolCoordinator.c))).toBe('gradwire-runs');
        const sweepPod = pods(r.sweep)[0]!;
        expect(claimOf(sweepPod, sweeper, out(sweeper))).toBe('gradwire-sweeps');
        // run and pool write different folders, so they never resume each other's checkpoint
        expect(out(runCoordinator.c)).not.toBe(out(poolCoordinator.c));
        const outputs = pods(loose).find((p) => p.owner === 'Pod/gradwire-outputs')!;
        const oc = outputs.spec.containers[0]!;
        for (const [c, pod] of [
          [runCoordinator.c, runCoordinator.pod],
          [poolCoordinator.c, poolCoordinator.pod],
          [sweeper, sweepPod],
        ] as const) {
          const { mount } = volumeOf(pod, c, out(c));
          const there = volumeOf(outputs, oc, out(c));
          expect(there.mount?.mountPath, out(c)).toBe(mount!.mountPath);
          expect(there.mount?.readOnly).toBe(true);
          expect(there.volume?.persistentVolumeClaim?.claimName).toBe(claimOf(pod, c, out(c)));
        }
        // every claim any pod mounts is one of base's
        const claims = new Set(r.base.filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => o.metadata.name));
        for (const p of allPods()) {
          for (const v of p.spec.volumes ?? [])
            if (v.persistentVolumeClaim)
              expect(claims.has(v.persistentVolumeClaim.claimName), `${p.owner} ${v.name}`).toBe(true);
        }
        for (const pvc of r.base.filter((o) => o.kind === 'PersistentVolumeClaim')) {
          expect((pvc as unknown as IPersistentVolumeClaim).spec!.accessModes).toEqual(['ReadWriteOnce']);
        }
      });

      it('every object is labelled gradwire; every pod with its component and instance, which its controller selects', () => {
        for (const o of all) expect(o.metadata.labels?.[NAME_LABEL], `${o.kind}/${o.metadata.name}`).toBe('gradwire');
        const summary = (objs: Manifest[]) =>
          pods(objs).map(
            (p) => `${p.owner} ${p.labels[COMPONENT_LABEL]} ${p.labels['app.kubernetes.io/instance'] ?? '-'}`,
          );
        expect(summary([...r.run, ...r.sweep, ...r.pool, ...loose])).toEqual([
          'Job/gradwire-coordinator coordinator run',
          'Job/gradwire-worker worker run',
          'Job/gradwire-sweep-lecture sweep sweep',
          'Deployment/gradwire-pool-coordinator coordinator pool',
          'Deployment/gradwire-pool-worker worker pool',
          'Pod/gradwire-outputs outputs -',
          'Pod/gradwire-datasets datasets -',
        ]);
        for (const d of r.pool.filter((o) => o.kind === 'Deployment') as unknown as IDeployment[]) {
          expect(d.spec!.template.metadata!.labels).toMatchObject(d.spec!.selector.matchLabels!);
        }
        // Jobs choose their own selector
        for (const j of all.filter((o) => o.kind === 'Job') as unknown as IJob[])
          expect(j.spec!.selector).toBeUndefined();
      });
    });

    describe('the run is Jobs that complete when it is done; the pool is the long-lived option', () => {
      it('the coordinator is a Job without --stay: a pod per attempt, a retry limit, a usage error fails it at once, a drain is not counted', () => {
        const job = find<IJob>(r.run, 'Job', 'gradwire-coordinator');
        const args = gradwireInvocation(runCoordinator.c)!;
        expect(args[0]).toBe('coordinator');
        expect(args).not.toContain('--stay');
        expect(envValue(runCoordinator.c, 'GRADWIRE_STAY')).toBeUndefined();
        expect(job.spec!.template.spec!.restartPolicy).toBe('Never');
        expect(job.spec!.backoffLimit).toBeGreaterThan(0);
        expect(job.spec!.completions ?? 1).toBe(1);
        expect(job.spec!.parallelism ?? 1).toBe(1);
        expect(job.spec!.podFailurePolicy!.rules).toEqual([
          { action: 'FailJob', onExitCodes: { containerName: 'coordinator', operator: 'In', values: [2] } },
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        ]);
      });

      it('the workers are an Indexed Job of pool-size pods that completes when one worker is done, ending the rest; no worker stays', () => {
        const job = find<IJob>(r.run, 'Job', 'gradwire-worker');
        const size = Number(envValue(runCoordinator.c, 'GRADWIRE_MIN_WORKERS'));
        expect(size).toBeGreaterThanOrEqual(1);
        expect(job.spec).toMatchObject({
          completionMode: 'Indexed',
          parallelism: size,
          completions: size,
          successPolicy: { rules: [{ succeededCount: 1 }] },
        });
        expect(job.spec!.template.spec!.restartPolicy).toBe('Never');
        expect(job.spec!.backoffLimit).toBeGreaterThan(0);
        expect(job.spec!.podFailurePolicy!.rules).toEqual([
          { action: 'FailJob', onExitCodes: { containerName: 'worker', operator: 'In', values: [2] } },
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        ]);
        expect(gradwireInvocation(runWorker.c)).toEqual(['worker']);
        expect(envValue(runWorker.c, 'GRADWIRE_STAY')).toBeUndefined();
        for (const d of RUN_VARIANTS)
          expect(
            r[d].filter((o) => o.kind === 'Deployment'),
            d,
          ).toEqual([]);
      });

      it('the pool size is set in one place: a copy with another value changes the Job (or Deployment) and GRADWIRE_MIN_WORKERS together', () => {
        expect(find<IDeployment>(r.pool, 'Deployment', 'gradwire-pool-worker').spec!.replicas).toBe(
          Number(envValue(poolCoordinator.c, 'GRADWIRE_MIN_WORKERS')),
        );
        const copy = tempDir('gradwire-k8s-pool-size-');
        for (const d of ['run', 'pool'] as const) {
          cpSync(join(ROOT, DIRS[d]), join(copy, d), { recursive: true });
          const file = join(copy, d, 'kustomization.yaml');
          const text = readFileSync(file, 'utf8');
          expect(text.match(/^\s+- workers=\d+$/gm), `${d}: one pool size`).toHaveLength(1);
          writeFileSync(file, text.replace(/^(\s+- workers=)\d+$/m, '$17'));
        }
        const run = render(relative(ROOT, join(copy, 'run')));
        const job = find<IJob>(run, 'Job', 'gradwire-worker');
        expect([job.spec!.parallelism, job.spec!.completions]).toEqual([7, 7]);
        expect(envValue(podOf(run, 'Job', 'gradwire-coordinator').c, 'GRADWIRE_MIN_WORKERS')).toBe('7');
        const pool = render(relative(ROOT, join(copy, 'pool')));
        expect(find<IDeployment>(pool, 'Deployment', 'gradwire-pool-worker').spec!.replicas).toBe(7);
        expect(envValue(podOf(pool, 'Deployment', 'gradwire-pool-coordinator').c, 'GRADWIRE_MIN_WORKERS')).toBe('7');
        // the value exists nowhere else: the manifests hold placeholders the render replaces
        for (const d of ['run', 'pool'] as const) {
          expect(readFileSync(join(ROOT, DIRS[d], 'worker.yaml'), 'utf8'), `${d}/worker.yaml`).not.toMatch(
            /^\s+(parallelism|completions|replicas): [1-9]/m,
          );
          expect(readFileSync(join(ROOT, DIRS[d], 'coordinator.yaml'), 'utf8'), `${d}/coordinator.yaml`).toMatch(
            /- name: GRADWIRE_MIN_WORKERS\n\s+value: "0"/,
          );
        }
        // the build input is not applied
        for (const objs of Object.values(r))
          expect(objs.some((o) => o.metadata.name === 'gradwire-pool-size')).toBe(false);
      });

      it('the pool: a coordinator Deployment that stays (one pod, Recreate, on a ReadWriteOnce volume) and workers that stay in the pool', () => {
        const d = find<IDeployment>(r.pool, 'Deployment', 'gradwire-pool-coordinator');
        expect(d.spec!.replicas).toBe(1);
        expect(d.spec!.strategy!.type).toBe('Recreate');
        expect(gradwireInvocation(poolCoordinator.c)).toContain('--stay');
        expect(envValue(poolWorker.c, 'GRADWIRE_STAY')).toBe('1');
      });

      it('the sweep Job has a retry limit and a time to live, and resumes after a restart', () => {
        const job = find<IJob>(r.sweep, 'Job');
        expect(job.spec!.backoffLimit).toBeGreaterThan(0);
        expect(job.spec!.ttlSecondsAfterFinished).toBeGreaterThan(0);
        expect(['Never', 'OnFailure']).toContain(job.spec!.template.spec!.restartPolicy);
        const first = gradwireInvocation(sweeper)!;
        expect(first).toEqual(['sweep', '--preset', 'lecture', '--out', '/data/sweeps/lecture']);
        expect(sweepRestartInvocation(sweeper)).toEqual([...first, '--resume']);
      });
    });

    describe('Services and the NetworkPolicy', () => {
      const pairs = () => [
        {
          dir: 'run' as Dir,
          coordinator: runCoordinator,
          worker: runWorker,
          service: 'gradwire-coordinator',
        },
        {
          dir: 'pool' as Dir,
          coordinator: poolCoordinator,
          worker: poolWorker,
          service: 'gradwire-pool-coordinator',
        },
      ];

      it('each Service selects its coordinator pod only and targets the port it listens on; its workers connect to it', () => {
        for (const { dir, coordinator, worker, service } of pairs()) {
          const svc = find<IService>(r[dir], 'Service', service);
          expect(coordinator.pod.labels).toMatchObject(svc.spec!.selector!);
          for (const other of allPods().filter((p) => p !== coordinator.pod && p.owner !== coordinator.pod.owner)) {
            expect(selects(svc.spec!.selector, other.labels), `${service} selects ${other.owner}`).toBe(false);
          }
          const port = svc.spec!.ports!.find((p) => p.name === 'ws')!;
          const target = coordinator.c.ports!.find(
            (p) => p.name === port.targetPort || p.containerPort === port.targetPort,
          )!;
          expect(argAfter(gradwireInvocation(coordinator.c)!, '--listen')).toBe(`0.0.0.0:${target.containerPort}`);
          const url = new URL(envValue(worker.c, 'GRADWIRE_CONNECT')!);
          expect(url.protocol).toBe('ws:');
          expect(url.hostname).toBe(svc.metadata!.name);
          expect(Number(url.port)).toBe(port.port);
        }
      });

      it("the NetworkPolicy selects the coordinator pods and admits only their own workers, on the coordinator's port", () => {
        for (const { dir, coordinator, worker } of pairs()) {
          const np = find<INetworkPolicy>(r[dir], 'NetworkPolicy');
          const others = allPods().filter((p) => p.owner !== coordinator.pod.owner);
          expect(selects(np.spec!.podSelector!.matchLabels, coordinator.pod.labels), dir).toBe(true);
          for (const p of others)
            expect(selects(np.spec!.podSelector!.matchLabels, p.labels), `${dir} policy applies to ${p.owner}`).toBe(
              false,
            );
          expect(np.spec!.policyTypes).toEqual(['Ingress']);
          expect(np.spec!.ingress).toHaveLength(1);
          const [rule] = np.spec!.ingress!;
          expect(rule!.from).toHaveLength(1);
          const peer = rule!.from![0]!;
          expect(Object.keys(peer)).toEqual(['podSelector']);
          expect(selects(peer.podSelector!.matchLabels, worker.pod.labels), `${dir}: its workers`).toBe(true);
          for (const p of allPods().filter((x) => x.owner !== worker.pod.owner)) {
            expect(selects(peer.podSelector!.matchLabels, p.labels), `${dir}: admits ${p.owner}`).toBe(false);
          }
          expect(rule!.ports).toEqual([{ port: 'ws', protocol: 'TCP' }]);
          expect(coordinator.c.ports!.map((p) => p.name)).toContain('ws');
        }
      });

      it('with the metrics-scraper component, a scraper is admitted too, and nothing else changes', () => {
        const np = find<INetworkPolicy>(r.runMetrics, 'NetworkPolicy');
        const plain = find<INetworkPolicy>(r.run, 'NetworkPolicy');
        expect(np.spec!.ingress![0]!.from).toEqual([
          ...plain.spec!.ingress![0]!.from!,
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
          },
        ]);
        expect({ ...np, spec: { ...np.spec, ingress: [] } }).toEqual({
          ...plain,
          spec: { ...plain.spec, ingress: [] },
        });
        expect(r.runMetrics.filter((o) => o.kind !== 'NetworkPolicy')).toEqual(
          r.run.filter((o) => o.kind !== 'NetworkPolicy'),
        );
      });
    });

    describe('secrets', () => {
      it('no token or key is tracked in deploy/k8s, and none can be by mistake; no render holds a Secret', () => {
        // tracked, or untracked and not ignored (what `git add` would take)
        const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', K8S], {
          cwd: ROOT,
          encoding: 'utf8',
        })
          .trim()
          .split('\n')
          .filter((f) => existsSync(join(ROOT, f)));
        expect(tracked.length).toBeGreaterThan(10);
        expect(tracked.filter((f) => /(^|\/)token[^/]*$|\.(pem|key|crt)$/.test(f))).toEqual([]);
        for (const f of tracked)
          expect(readFileSync(join(ROOT, f), 'utf8'), f).not.toMatch(/REPLACE-ME|BEGIN [A-Z ]*PRIVATE KEY/);
        const ignored = spawnSync(
          'git',
          [
            'check-ignore',
            `${K8S}/token`,
            `${K8S}/token.txt`,
            `${K8S}/examples/run-tls/key.pem`,
            `${K8S}/examples/run-tls/cert.pem`,
          ],
          { cwd: ROOT, encoding: 'utf8' },
        );
        expect(ignored.stdout.trim().split('\n')).toHaveLength(4);
        expect(all.filter((o) => o.kind === 'Secret')).toEqual([]);
        for (const d of Object.values(DIRS))
          expect(readFileSync(join(ROOT, d, 'kustomization.yaml'), 'utf8'), d).not.toMatch(/^secretGenerator:/m);
      });

      it('the token is a file from the Secret gradwire-token, mounted read-only; no environment variable carries it', () => {
        const found = roleContainers();
        expect(found.length).toBe(RUN_VARIANTS.length * 2 + 2);
        for (const { where, pod, c } of found) {
          expect(envValue(c, 'GRADWIRE_TOKEN'), where).toBeUndefined();
          expect(
            (c.env ?? []).filter((e) => e.name === 'GRADWIRE_TOKEN'),
            where,
          ).toEqual([]);
          const file = envValue(c, 'GRADWIRE_TOKEN_FILE')!;
          expect(file, where).toBeDefined();
          const { mount, volume } = volumeOf(pod, c, file);
          expect(mount?.readOnly, where).toBe(true);
          expect(volume?.secret?.secretName, where).toBe(TOKEN_SECRET);
          // the file is the Secret's key "token" (kubectl create secret generic … --from-file=token=…)
          const key = file.slice(mount!.mountPath.replace(/\/$/, '').length + 1);
          const items = volume!.secret!.items;
          expect(items ? items.find((i) => i.path === key)?.key : key, where).toBe('token');
          // readable by the pod's group (fsGroup) only: 0440
          expect(volume!.secret!.defaultMode, where).toBe(0o440);
        }
        for (const p of allPods()) {
          for (const c of p.spec.containers) {
            expect(
              (c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef),
              `${p.owner} ${c.name}`,
            ).toEqual([]);
            expect(c.envFrom, `${p.owner} ${c.name}`).toBeUndefined();
          }
        }
      });

      it('the READMEs make the token with openssl and the Secret with kubectl, from a file outside the repository', () => {
        const readme = readFileSync(join(ROOT, 'deploy/README.md'), 'utf8');
        const section = readme.split(/^(?=## )/m).find((s) => s.startsWith('## Run on Kubernetes\n'));
        expect(section).toBeDefined();
        for (const [f, text] of [
          [`${K8S}/README.md`, readFileSync(join(ROOT, K8S, 'README.md'), 'utf8')],
          ['deploy/README.md, "Run on Kubernetes"', section!],
        ]) {
          expect(text, f).toMatch(/openssl rand -hex 32 > (\S+)/);
          expect(text, f).toMatch(
            /kubectl (-n gradwire )?create secret generic gradwire-token (-n gradwire )?--from-file=token=\S+/,
          );
          expect(text, f).toMatch(/kubectl (-n gradwire )?create secret tls gradwire-tls/);
          expect(text, f).not.toMatch(/deploy\/k8s\/token\.txt/);
        }
      });

      it('the TLS overlay: the coordinator gets --tls-cert/--tls-key from the Secret gradwire-tls and HTTPS probes; workers wss:// and only the certificate', () => {
        const coordinator = podOf(r.runTls, 'Job', 'gradwire-coordinator');
        const worker = podOf(r.runTls, 'Job', 'gradwire-worker');
        const args = gradwireInvocation(coordinator.c)!;
        expect(args.slice(0, -4)).toEqual(gradwireInvocation(runCoordinator.c));
        expect(args.slice(-4, -3)).toEqual(['--tls-cert']);
        expect(args.slice(-2, -1)).toEqual(['--tls-key']);
        for (const [flag, key] of [
          ['--tls-cert', 'tls.crt'],
          ['--tls-key', 'tls.key'],
        ] as const) {
          const file = argAfter(args, flag)!;
          const { mount, volume } = volumeOf(coordinator.pod, coordinator.c, file);
          expect(mount?.readOnly).toBe(true);
          expect(volume?.secret?.secretName).toBe(TLS_SECRET);
          expect(file.slice(mount!.mountPath.length + 1)).toBe(key);
        }
        for (const p of [coordinator.c.startupProbe, coordinator.c.readinessProbe, coordinator.c.livenessProbe])
          expect(p!.httpGet!.scheme).toBe('HTTPS');
        expect(envValue(worker.c, 'GRADWIRE_CONNECT')).toBe(
          envValue(runWorker.c, 'GRADWIRE_CONNECT')!.replace(/^ws:/, 'wss:'),
        );
        expect(envValue(worker.c, 'GRADWIRE_CONNECT')).toBe('wss://gradwire-coordinator:7070');
        const ca = envValue(worker.c, 'GRADWIRE_TLS_CA')!;
        const { mount, volume } = volumeOf(worker.pod, worker.c, ca);
        expect(mount?.readOnly).toBe(true);
        expect(volume?.secret).toMatchObject({
          secretName: TLS_SECRET,
          items: [{ key: 'tls.crt', path: ca.slice(mount!.mountPath.length + 1) }],
        });
        // the token stays as it was
        expect(envValue(worker.c, 'GRADWIRE_TOKEN_FILE')).toBe(envValue(runWorker.c, 'GRADWIRE_TOKEN_FILE'));
      });
    });

    describe('containers', () => {
      it(`every image is gradwire:${VERSION} (the package version, never latest), pulled if not present`, () => {
        for (const p of allPods()) {
          for (const c of p.spec.containers) {
            expect(c.image, `${p.owner} ${c.name}`).toBe(`gradwire:${VERSION}`);
            expect(c.imagePullPolicy).toBe('IfNotPresent');
          }
        }
      });

      it('every container has cpu and memory requests and limits, with a margin over the memory measured', () => {
        for (const p of allPods()) {
          for (const c of p.spec.containers) {
            for (const bound of ['requests', 'limits'] as const) {
              expect(Object.keys(c.resources?.[bound] ?? {}).sort(), `${p.owner} ${c.name} ${bound}`).toEqual([
                'cpu',
                'memory',
              ]);
            }
            expect(megabytes(c.resources!.requests!.memory!)).toBeLessThanOrEqual(
              megabytes(c.resources!.limits!.memory!),
            );
            expect(cpuCores(c.resources!.requests!.cpu!)).toBeLessThanOrEqual(cpuCores(c.resources!.limits!.cpu!));
          }
        }
        for (const { where, c, role } of roleContainers()) {
          const measured = MEASURED_MB[role as 'coordinator' | 'worker'];
          expect(megabytes(c.resources!.requests!.memory!), where).toBeGreaterThanOrEqual(1.5 * measured);
          expect(megabytes(c.resources!.limits!.memory!), where).toBeGreaterThanOrEqual(3 * measured);
        }
        // the sweep's one local worker takes its threads (trial seats) from the CPU limit: the
        // request equals it, and the memory holds the coordinator and a worker with those threads
        const args = gradwireInvocation(sweeper)!;
        expect(args).not.toContain('--workers');
        expect(args).not.toContain('--threads');
        expect(cpuCores(sweeper.resources!.requests!.cpu!)).toBe(cpuCores(sweeper.resources!.limits!.cpu!));
        expect(megabytes(sweeper.resources!.limits!.memory!)).toBeGreaterThanOrEqual(
          1.5 * (MEASURED_MB.coordinator + MEASURED_MB.worker),
        );
      });

      it('probes: coordinators GET /healthz on their port; workers are ready when `gradwire health --ready` passes and alive by `gradwire health`', () => {
        for (const c of [runCoordinator.c, poolCoordinator.c]) {
          for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) {
            expect(probe?.httpGet?.path).toBe('/healthz');
            expect(
              c.ports!.some((p) => p.name === probe!.httpGet!.port || p.containerPort === probe!.httpGet!.port),
            ).toBe(true);
            expect(probe!.periodSeconds).toBeGreaterThanOrEqual(5);
          }
        }
        for (const { where, c, role } of roleContainers().filter((x) => x.role === 'worker')) {
          expect(c.readinessProbe?.exec?.command, where).toEqual(['gradwire', 'health', '--ready']);
          expect(c.livenessProbe?.exec?.command, where).toEqual(['gradwire', 'health']);
          expect(envValue(c, 'GRADWIRE_STATUS_FILE'), `${where} ${role}`).toBeDefined();
        }
        expect(sweeper.livenessProbe?.exec?.command).toEqual(['gradwire', 'health']);
        expect(envValue(sweeper, 'GRADWIRE_STATUS_FILE')).toBeDefined();
      });

      it('pods run as the image user (uid 10001), non-root, on a read-only root with every path they write on a writable volume', () => {
        for (const p of allPods()) {
          expect(p.spec.securityContext, p.owner).toMatchObject({
            runAsNonRoot: true,
            runAsUser: 10001,
            fsGroup: 10001,
          });
          expect(p.spec.automountServiceAccountToken, p.owner).toBe(false);
          for (const c of p.spec.containers) {
            expect(c.securityContext, `${p.owner} ${c.name}`).toMatchObject({
              readOnlyRootFilesystem: true,
              allowPrivilegeEscalation: false,
              capabilities: { drop: ['ALL'] },
            });
            const args = gradwireInvocation(c) ?? [];
            const written = [
              envValue(c, 'GRADWIRE_STATUS_FILE'),
              envValue(c, 'GRADWIRE_CACHE'),
              argAfter(args, '--out'),
            ];
            for (const path of written.filter((x): x is string => x !== undefined)) {
              const mount = mountOf(c, path);
              expect(mount && !mount.readOnly, `${p.owner} ${c.name} writes ${path}`).toBe(true);
            }
          }
        }
      });
    });

    describe('datasets', () => {
      it("a CSV in the run's ConfigMap, beside run.yaml which names it: the coordinator loads it from /config", () => {
        const { pod, c } = podOf(r.csv, 'Job', 'gradwire-coordinator');
        const args = gradwireInvocation(c)!;
        const configPath = argAfter(args, '--config')!;
        const { mount, volume } = volumeOf(pod, c, configPath);
        const cm = find<IConfigMap>(r.csv, 'ConfigMap', volume!.configMap!.name);
        expect(Object.keys(cm.data!).sort()).toEqual(['iris.csv', 'run.yaml']);
        expect(Buffer.byteLength(JSON.stringify(cm.data))).toBeLessThan(1024 * 1024);
        const dir = tempDir('gradwire-k8s-config-');
        for (const [k, text] of Object.entries(cm.data!)) writeFileSync(join(dir, k), text);
        const { config, baseDir } = loadRunConfig(join(dir, configPath.slice(mount!.mountPath.length + 1)));
        expect(config.data).toMatchObject({ name: 'csv', path: 'iris.csv', labelColumn: 'species' });
        const data = loadDataset(config.data, baseDir, config.seed);
        expect([data.n, data.features, data.classes]).toEqual([150, 4, 3]);
        expect(argAfter(args, '--out')).not.toBe(argAfter(gradwireInvocation(runCoordinator.c)!, '--out'));
      });

      it('IDX files on the volume gradwire-datasets, mounted read-only at /datasets: run.yaml names them and the coordinator loads them', () => {
        const { pod, c } = podOf(r.pvc, 'Job', 'gradwire-coordinator');
        const args = gradwireInvocation(c)!;
        const configPath = argAfter(args, '--config')!;
        const cm = find<IConfigMap>(r.pvc, 'ConfigMap', volumeOf(pod, c, configPath).volume!.configMap!.name);
        const text = cm.data!['run.yaml']!;
        const root = tempDir('gradwire-k8s-datasets-');
        writeFileSync(join(root, 'run.yaml'), text);
        const { config } = loadRunConfig(join(root, 'run.yaml'));
        expect(config.data.name).toBe('idx');
        const files = [config.data.images!, config.data.labels!];
        for (const f of files) {
          const { mount, volume } = volumeOf(pod, c, f);
          expect(mount?.readOnly, f).toBe(true);
          expect(volume?.persistentVolumeClaim).toMatchObject({
            claimName: 'gradwire-datasets',
            readOnly: true,
          });
        }
        // files of that format at those paths load (10 images of 2×2 pixels, 2 classes, gzip)
        const n = 10;
        const header = (magic: number, dims: number[]) => {
          const b = Buffer.alloc(4 * (1 + dims.length));
          [magic, ...dims].forEach((x, i) => b.writeUInt32BE(x, 4 * i));
          return b;
        };
        const images = Buffer.concat([
          header(0x803, [n, 2, 2]),
          Buffer.from(Array.from({ length: n * 4 }, (_, i) => (i * 37) % 256)),
        ]);
        const labels = Buffer.concat([header(0x801, [n]), Buffer.from(Array.from({ length: n }, (_, i) => i % 2))]);
        for (const [f, bytes] of [
          [files[0]!, images],
          [files[1]!, labels],
        ] as const) {
          mkdirSync(dirname(join(root, f)), { recursive: true });
          writeFileSync(join(root, f), gzipSync(bytes));
        }
        writeFileSync(join(root, 'moved.yaml'), text.replaceAll('/datasets/', `${root}/datasets/`));
        const moved = loadRunConfig(join(root, 'moved.yaml'));
        const data = loadDataset(moved.config.data, moved.baseDir, moved.config.seed);
        expect([data.n, data.features, data.classes]).toEqual([n, 4, 2]);
        // the datasets pod mounts the same volume where you copy files to, writable
        const loader = pods(loose).find((p) => p.owner === 'Pod/gradwire-datasets')!;
        const there = volumeOf(loader, loader.spec.containers[0]!, files[0]!);
        expect(there.volume?.persistentVolumeClaim?.claimName).toBe('gradwire-datasets');
        expect(there.mount?.readOnly ?? false).toBe(false);
      });
    });

    describe('commands', () => {
      it("every gradwire command line and probe command parses, with flags and GRADWIRE_ variables that gradwire's --help documents", async () => {
        const invocations = new Map<string, { who: string; args: string[]; env: string[] }>();
        const add = (who: string, args: string[], env: string[]) =>
          invocations.set(JSON.stringify([args, env]), { who, args, env });
        for (const p of allPods()) {
          for (const c of p.spec.containers) {
            const env = (c.env ?? []).map((e) => e.name).filter((n) => n.startsWith('GRADWIRE_'));
            const args = gradwireInvocation(c);
            if (args) add(`${p.owner} ${c.name}`, args, env);
            if (c.args?.some((a) => a.includes('--resume')))
              add(`${p.owner} ${c.name} (restarted)`, sweepRestartInvocation(c), env);
            for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe] as Array<IProbe | undefined>) {
              if (probe?.exec) add(`${p.owner} ${c.name} probe`, probe.exec.command!.slice(1), []);
            }
          }
        }
        const commands = [...invocations.values()].map((i) => i.args[0]);
        for (const cmd of ['coordinator', 'worker', 'sweep', 'health']) expect(commands).toContain(cmd);
        // the TLS flags are among them
        expect([...invocations.values()].some((i) => i.args.includes('--tls-cert'))).toBe(true);
        const helps: string[] = [];
        for (const { who, args } of invocations.values()) {
          // --help after the real arguments: gradwire's strict parser still rejects an unknown
          // flag or a missing value (exit 2) before it prints the help
          const res = await gradwire([...args, '--help']);
          expect(res.status, `${who}: gradwire ${args.join(' ')}\n${res.stderr}`).toBe(0);
          for (const flag of args.filter((a) => a.startsWith('--')))
            expect(res.stdout, `${who}: ${flag}`).toMatch(new RegExp(`(^|\\s)${flag}(?![\\w-])`, 'm'));
          helps.push(res.stdout);
        }
        for (const { who, env } of invocations.values()) {
          for (const name of env)
            expect(
              helps.some((h) => new RegExp(`\\b${name}\\b`).test(h)),
              `${who}: ${name} is in no --help`,
            ).toBe(true);
        }
      });
    });

    describe("the run's Jobs and their probes, run on this machine (volumes in a folder, the containers' own commands)", () => {
      const token = randomBytes(32).toString('hex');
      const secrets = { [TOKEN_SECRET]: { token } };
      const IRIS = 'data: { name: iris }\nmodel: { hidden: [8] }\nbatchSize: 16\nepochs: 3\n';
      const LONG = 'data: { name: iris }\nmodel: { hidden: [8] }\nbatchSize: 16\nepochs: 5000\ncheckpointEvery: 20\n';

      afterAll(killLocal);

      /** a container of a render, set up in its own folder; `config` replaces its run.yaml */
      function setUp(
        objs: Manifest[],
        kind: 'Job' | 'Deployment',
        name: string,
        config?: string,
        extraSecrets: Record<string, Record<string, string>> = {},
      ) {
        const { pod, c } = podOf(objs, kind, name);
        const lc = materialize(pod, c, objs, tempDir(`gradwire-k8s-${name}-`), {
          ...secrets,
          ...extraSecrets,
        });
        if (config) writeFileSync(lc.path('/config/run.yaml'), config);
        return { pod, c, lc };
      }

      /** a probe's exec command, as the kubelet runs it in the container (its environment) */
      async function exec(
        probe: IProbe,
        env: Record<string, string>,
      ): Promise<{ status: number | null; stdout: string }> {
        expect(probe.exec!.command![0]).toBe('gradwire');
        return await gradwire(probe.exec!.command!.slice(1), { env });
      }

      async function waitForFile(path: string, test: (text: string) => boolean, what: string): Promise<void> {
        for (let i = 0; i < 300; i++) {
          if (existsSync(path) && test(readFileSync(path, 'utf8'))) return;
          await new Promise((res) => setTimeout(res, 100));
        }
        throw new Error(`timed out waiting for ${what}`);
      }

      it('the coordinator waits for the pool; a worker is ready once it holds the job; the run ends and every container exits 0 with the outputs written', async () => {
        const coord = setUp(r.run, 'Job', 'gradwire-coordinator', IRIS);
        const c = runLocal('coordinator', coord.c, coord.lc);
        const port = (await c.waitForEvent('listening')).port as number;
        expect(c.events.find((e) => e.event === 'listening')).toMatchObject({ auth: true });
        // the coordinator's httpGet probes answer while it waits for its workers
        for (const probe of [coord.c.startupProbe!, coord.c.readinessProbe!, coord.c.livenessProbe!]) {
          const res = await fetch(`http://127.0.0.1:${port}${probe.httpGet!.path}`);
          expect(res.status).toBe(200);
        }
        // the sweep's liveness probe (gradwire health) reads a coordinator's status file and asks its /healthz
        const s = await exec(sweeper.livenessProbe!, coord.lc.env);
        expect(s.status, s.stdout).toBe(0);
        expect(s.stdout).toMatch(/^healthy: coordinator .*\/healthz/);

        const size = Number(coord.lc.env.GRADWIRE_MIN_WORKERS);
        expect(size).toBe(2);
        const workers: Array<{ p: Proc; env: Record<string, string> }> = [];
        const startWorker = (i: number) => {
          const w = setUp(r.run, 'Job', 'gradwire-worker');
          workers.push({
            p: runLocal(`worker-${i}`, w.c, w.lc, { GRADWIRE_CONNECT: `ws://127.0.0.1:${port}` }),
            env: w.lc.env,
          });
          return w;
        };
        const first = startWorker(0);
        const status = first.lc.env.GRADWIRE_STATUS_FILE!;
        await waitForFile(
          status,
          (t) =>
            (JSON.parse(t) as { job?: string }).job !== undefined &&
            (JSON.parse(t) as { job?: string | null }).job !== null,
          'the worker to hold the job',
        );
        const ready = await exec(first.c.readinessProbe!, first.lc.env);
        expect(ready.status, ready.stdout).toBe(0);
        expect(ready.stdout).toMatch(/^ready: worker \d+ (idle|working), job run-/);
        const alive = await exec(first.c.livenessProbe!, first.lc.env);
        expect(alive.status, alive.stdout).toBe(0);
        expect(c.events.some((e) => e.event === 'step')).toBe(false); // one worker of two: no step yet

        for (let i = 1; i < size; i++) startWorker(i);
        expect(await c.exited).toBe(0);
        for (const w of workers) expect(await w.p.exited, w.p.name).toBe(0);
        const out = coord.lc.path(argAfter(gradwireInvocation(coord.c)!, '--out')!);
        expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toMatchObject({ epochs: 3 });
        expect(c.events.filter((e) => e.event === 'worker-ready')).toHaveLength(size);
      }, 90_000);

      it('a SIGTERM (drain, eviction) ends the containers with 143, not 0: the Job starts a new pod, whose coordinator resumes from the checkpoint', async () => {
        const coord = setUp(r.run, 'Job', 'gradwire-coordinator', LONG);
        const c = runLocal('coordinator', coord.c, coord.lc, {
          GRADWIRE_MIN_WORKERS: '1',
          GRADWIRE_LOG_LEVEL: 'debug',
        });
        const port = (await c.waitForEvent('listening')).port as number;
        const w = setUp(r.run, 'Job', 'gradwire-worker');
        const worker = runLocal('worker', w.c, w.lc, { GRADWIRE_CONNECT: `ws://127.0.0.1:${port}` });
        await c.waitForStep(30);
        // the kubelet signals the container's first process: the shell
        worker.kill('SIGTERM');
        expect(await worker.exited).toBe(143);
        c.kill('SIGTERM');
        expect(await c.exited).toBe(143);
        const stopped = (await c.waitForEvent('stopped')).step as number;
        const out = coord.lc.path(argAfter(gradwireInvocation(coord.c)!, '--out')!);
        expect(existsSync(join(out, 'checkpoint.gwc'))).toBe(true);
        expect(existsSync(join(out, 'summary.json'))).toBe(false);

        // the new pod: the same volume (the folder) and config; it resumes where the first stopped
        const again = runLocal('coordinator-2', coord.c, coord.lc, {
          GRADWIRE_MIN_WORKERS: '1',
          GRADWIRE_LOG_LEVEL: 'debug',
        });
        const port2 = (await again.waitForEvent('listening')).port as number;
        expect((await again.waitForEvent('resume')).step).toBe(stopped);
        const w2 = setUp(r.run, 'Job', 'gradwire-worker');
        const worker2 = runLocal('worker-2', w2.c, w2.lc, { GRADWIRE_CONNECT: `ws://127.0.0.1:${port2}` });
        await again.waitForStep(stopped + 5);
        worker2.kill('SIGTERM');
        again.kill('SIGTERM');
        expect(await again.exited).toBe(143);
        expect(await worker2.exited).toBe(143);
      }, 90_000);

      it.skipIf(opensslMissing !== null)(
        'the TLS overlay on real processes: HTTPS probes answer, workers trusting the mounted certificate train over wss:// and exit 0',
        async () => {
          const dir = dirname(selfSignedCert().cert);
          const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
          const tls = {
            [TLS_SECRET]: { 'tls.crt': cert, 'tls.key': readFileSync(join(dir, 'key.pem'), 'utf8') },
          };
          const coord = setUp(r.runTls, 'Job', 'gradwire-coordinator', IRIS, tls);
          const c = runLocal('coordinator-tls', coord.c, coord.lc);
          const port = (await c.waitForEvent('listening')).port as number;
          expect(c.events.find((e) => e.event === 'listening')).toMatchObject({ tls: true, auth: true });
          for (const probe of [coord.c.startupProbe!, coord.c.readinessProbe!, coord.c.livenessProbe!]) {
            expect(probe.httpGet!.scheme).toBe('HTTPS');
            const status = await new Promise<number | undefined>((res, rej) => {
              httpsGet(`https://127.0.0.1:${port}${probe.httpGet!.path}`, { ca: cert }, (resp) => {
                resp.resume();
                res(resp.statusCode);
              }).on('error', rej);
            });
            expect(status).toBe(200);
          }
          const workers = [0, 1].map((i) => {
            const w = setUp(r.runTls, 'Job', 'gradwire-worker', undefined, tls);
            // only the certificate is on the worker's volume, never the key
            expect(readdirSync(dirname(w.lc.env.GRADWIRE_TLS_CA!))).toEqual(['ca.crt']);
            const url = new URL(w.lc.env.GRADWIRE_CONNECT!);
            return runLocal(`worker-tls-${i}`, w.c, w.lc, {
              GRADWIRE_CONNECT: `${url.protocol}//127.0.0.1:${port}`,
            });
          });
          expect(await c.exited).toBe(0);
          for (const w of workers) expect(await w.exited, w.name).toBe(0);
        },
        90_000,
      );

      it('the exec probes fail when the status file is missing or stale (a process that never started, or is stuck)', async () => {
        const { c, lc } = setUp(r.run, 'Job', 'gradwire-worker');
        const status = lc.env.GRADWIRE_STATUS_FILE!;
        for (const probe of [c.livenessProbe!, c.readinessProbe!]) {
          const missing = await exec(probe, lc.env);
          expect(missing.status).toBe(1);
          expect(missing.stdout).toMatch(/^(unhealthy|not ready): .*ENOENT/);
        }
        writeFileSync(
          status,
          JSON.stringify({
            role: 'worker',
            pid: 1,
            state: 'working',
            job: 'run-x',
            updatedAt: new Date(Date.now() - 600_000).toISOString(),
          }),
        );
        for (const probe of [c.livenessProbe!, c.readinessProbe!]) {
          const stale = await exec(probe, lc.env);
          expect(stale.status).toBe(1);
          expect(stale.stdout).toMatch(/^(unhealthy|not ready): .*old/);
        }
      });
    });
  },
);
