// The Kubernetes manifests in deploy/k8s, checked offline against their real render
// (`kubectl kustomize`): every object against the Kubernetes schemas (kubernetes-models) plus
// a strict check for fields those schemas do not have, the wiring between the objects, the
// gradwire commands and flags they use, and the health endpoints their probes name, asked of
// real coordinator and worker processes.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { loadRunConfig } from '../../coordinator/config-file.js';
import { ROOT, gradwire, withFiles } from '../helpers/cli.js';
import { killAll, listeningPort, startCoordinator, startWorker } from '../helpers/cluster.js';
import {
  COMPONENT_LABEL, FieldCheck, KUBECTL, NAMESPACE, NAME_LABEL, envValue, find, gradwireInvocation, kindOf, mountOf,
  parseManifests, pods, render, sweepRestartInvocation, unwrapSecretData, type Manifest,
} from '../helpers/k8s.js';

function cpuCores(q: string | number): number {
  return typeof q === 'number' ? q : q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}

const suite = KUBECTL ? describe : describe.skip;
if (!KUBECTL) console.warn('test/integration/k8s-manifests.test.ts: skipped: kubectl is not on PATH (it renders deploy/k8s with `kubectl kustomize`)');

suite(KUBECTL ? 'the Kubernetes manifests in deploy/k8s' : 'the Kubernetes manifests in deploy/k8s (skipped: kubectl is not on PATH; the test renders them with `kubectl kustomize`)', () => {
  let main: Manifest[];
  let sweep: Manifest[];
  let outputsPod: Manifest[];
  let all: Manifest[];
  let fields: FieldCheck;
  let coordinator: IContainer;
  let worker: IContainer;
  let sweeper: IContainer;

  beforeAll(() => {
    main = render('deploy/k8s');
    sweep = render('deploy/k8s/sweep-job');
    outputsPod = parseManifests(readFileSync(join(ROOT, 'deploy/k8s/sweep-job/outputs-pod.yaml'), 'utf8'), 'outputs-pod.yaml');
    all = [...main, ...sweep, ...outputsPod];
    fields = new FieldCheck();
    coordinator = find<IDeployment>(main, 'Deployment', 'gradwire-coordinator').spec!.template.spec!.containers[0]!;
    worker = find<IDeployment>(main, 'Deployment', 'gradwire-worker').spec!.template.spec!.containers[0]!;
    sweeper = find<IJob>(sweep, 'Job').spec!.template.spec!.containers[0]!;
  });

  describe('schemas', () => {
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
      expect(all.map((o) => o.kind).sort()).toEqual(
        ['ConfigMap', 'Deployment', 'Deployment', 'Job', 'Namespace', 'Namespace', 'PersistentVolumeClaim', 'PersistentVolumeClaim', 'Pod', 'Secret', 'Service']);
    });

    it('a misspelled field passes kubernetes-models alone but fails the strict check, which names the field meant', () => {
      const typo = structuredClone(find<IDeployment>(main, 'Deployment', 'gradwire-coordinator'));
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
        'Deployment/gradwire-coordinator.spec.strategy.tpye: not a field of IDeploymentStrategy (did you mean "type"?)',
        'Deployment/gradwire-coordinator.spec.template.spec.containers[0].readinesProbe: not a field of IContainer (did you mean "readinessProbe"?)',
        'Deployment/gradwire-coordinator.spec.template.spec.containers[0].imagePullPolcy: not a field of IContainer (did you mean "imagePullPolicy"?)',
      ]);
    });

    it('a wrong value type fails the schema validation', () => {
      const bad = structuredClone(find<IDeployment>(main, 'Deployment', 'gradwire-worker'));
      (bad.spec as unknown as Record<string, unknown>)['replicas'] = 'two';
      expect(() => kindOf(bad as unknown as Manifest).validate(bad as unknown as Manifest)).toThrow(/replicas must be integer/);
    });

    it('a kind without a schema mapping fails instead of passing unchecked', () => {
      const o: Manifest = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'x' } };
      expect(() => kindOf(o)).toThrow(/no schema for apps\/v1 StatefulSet/);
    });
  });

  describe('wiring', () => {
    it('everything lives in the gradwire namespace, which both kustomizations create', () => {
      for (const objs of [main, sweep]) expect(find<Manifest>(objs, 'Namespace', NAMESPACE)).toBeTruthy();
      for (const o of all.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(NAMESPACE);
    });

    it('every object is labelled gradwire; every pod with its component, which its controller selects', () => {
      for (const o of all) expect(o.metadata.labels?.[NAME_LABEL], `${o.kind}/${o.metadata.name}`).toBe('gradwire');
      expect(pods(all).map((p) => `${p.owner} ${p.labels[COMPONENT_LABEL]}`)).toEqual([
        'Deployment/gradwire-coordinator coordinator', 'Deployment/gradwire-worker worker',
        'Job/gradwire-sweep-lecture sweep', 'Pod/gradwire-sweep-outputs sweep',
      ]);
      for (const name of ['gradwire-coordinator', 'gradwire-worker']) {
        const d = find<IDeployment>(main, 'Deployment', name);
        expect(d.spec!.template.metadata!.labels).toMatchObject(d.spec!.selector.matchLabels!);
      }
    });

    it('the coordinator is a single pod that releases its volume before a new one starts', () => {
      const d = find<IDeployment>(main, 'Deployment', 'gradwire-coordinator');
      expect(d.spec!.replicas).toBe(1);
      expect(d.spec!.strategy!.type).toBe('Recreate');
      const data = d.spec!.template.spec!.volumes!.find((v) => v.name === mountOf(coordinator, '/data')!.name)!;
      const pvc = find<IPersistentVolumeClaim>(main, 'PersistentVolumeClaim', data.persistentVolumeClaim!.claimName);
      expect(pvc.spec!.accessModes).toEqual(['ReadWriteOnce']);
    });

    it('the Service selects the coordinator pod and targets the port it listens on', () => {
      const svc = find<IService>(main, 'Service', 'gradwire-coordinator');
      const pod = pods(main).find((p) => p.owner === 'Deployment/gradwire-coordinator')!;
      expect(pod.labels).toMatchObject(svc.spec!.selector!);
      for (const other of pods(all).filter((p) => p.owner !== pod.owner)) expect(other.labels).not.toMatchObject(svc.spec!.selector!);
      const port = svc.spec!.ports!.find((p) => p.name === 'ws')!;
      const target = coordinator.ports!.find((p) => p.name === port.targetPort || p.containerPort === port.targetPort)!;
      expect(target).toBeDefined();
      const listen = coordinator.args![coordinator.args!.indexOf('--listen') + 1]!;
      expect(listen).toBe(`0.0.0.0:${target.containerPort}`);
    });

    it("the workers connect to the Service's name and port", () => {
      const svc = find<IService>(main, 'Service', 'gradwire-coordinator');
      const url = new URL(envValue(worker, 'GRADWIRE_CONNECT')!);
      expect(url.protocol).toBe('ws:');
      expect(url.hostname).toBe(svc.metadata!.name);
      expect(Number(url.port)).toBe(svc.spec!.ports!.find((p) => p.name === 'ws')!.port);
    });

    it('coordinator and workers take the token from the generated Secret in the render', () => {
      for (const c of [coordinator, worker]) {
        const ref = c.env!.find((e) => e.name === 'GRADWIRE_TOKEN')!.valueFrom!.secretKeyRef!;
        const secret = find<ISecret>(main, 'Secret', ref.name);
        expect(secret.metadata!.name).toMatch(/^gradwire-token-[a-z0-9]+$/);
        expect(Buffer.from(secret.data![ref.key]!, 'base64').toString('utf8').trim()).not.toBe('');
      }
    });

    it("the Secret's shipped placeholder is refused: a coordinator will not run with a public token", () => {
      const ref = coordinator.env!.find((e) => e.name === 'GRADWIRE_TOKEN')!.valueFrom!.secretKeyRef!;
      const shipped = Buffer.from(find<ISecret>(main, 'Secret', ref.name).data![ref.key]!, 'base64').toString('utf8').trim();
      expect(shipped).toMatch(/^REPLACE-ME/);
      const r = gradwire(['coordinator', '--listen', '127.0.0.1:0'], { env: { GRADWIRE_TOKEN: shipped } });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/GRADWIRE_TOKEN holds the placeholder token .*openssl rand -hex 32/);
    });

    it('the coordinator waits for as many workers as the worker Deployment runs', () => {
      expect(Number(envValue(coordinator, 'GRADWIRE_MIN_WORKERS'))).toBe(find<IDeployment>(main, 'Deployment', 'gradwire-worker').spec!.replicas);
    });

    it("the coordinator's --config is the ConfigMap's run.yaml, a run config gradwire loads", () => {
      const configPath = coordinator.args![coordinator.args!.indexOf('--config') + 1]!;
      const mount = mountOf(coordinator, configPath)!;
      const volume = find<IDeployment>(main, 'Deployment', 'gradwire-coordinator').spec!.template.spec!.volumes!.find((v) => v.name === mount.name)!;
      const cm = find<IConfigMap>(main, 'ConfigMap', volume.configMap!.name);
      const text = cm.data![configPath.slice(mount.mountPath.length + 1)]!;
      expect(text).toBeDefined();
      const loaded = loadRunConfig(join(withFiles({ 'run.yaml': text }), 'run.yaml'));
      expect(loaded.config.data.name).toBe('mnist');
    });

    it('every container has cpu and memory requests and limits; the sweep pod has a core per local worker', () => {
      for (const p of pods(all)) {
        for (const c of p.spec.containers) {
          for (const bound of ['requests', 'limits'] as const) {
            expect(Object.keys(c.resources?.[bound] ?? {}).sort(), `${p.owner} ${c.name} ${bound}`).toEqual(['cpu', 'memory']);
          }
        }
      }
      const args = gradwireInvocation(sweeper)!;
      expect(cpuCores(sweeper.resources!.requests!['cpu']!)).toBeGreaterThanOrEqual(Number(args[args.indexOf('--workers') + 1]));
    });

    it('the probes: coordinator readiness and liveness GET /healthz on its port; worker and sweep liveness run `gradwire health`', () => {
      for (const probe of [coordinator.readinessProbe, coordinator.livenessProbe]) {
        expect(probe?.httpGet?.path).toBe('/healthz');
        expect(coordinator.ports!.some((p) => p.name === probe!.httpGet!.port || p.containerPort === probe!.httpGet!.port)).toBe(true);
        expect(probe!.periodSeconds).toBeGreaterThanOrEqual(5);
      }
      for (const c of [worker, sweeper]) {
        expect(c.livenessProbe?.exec?.command).toEqual(['gradwire', 'health']);
        expect(envValue(c, 'GRADWIRE_STATUS_FILE')).toBeDefined();
      }
    });

    it('pods run as the image user (uid 10001), non-root, on a read-only root with every path they write on a volume', () => {
      for (const p of pods(all)) {
        expect(p.spec.securityContext, p.owner).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });
        for (const c of p.spec.containers) {
          expect(c.image).toBe('gradwire:latest');
          expect(c.imagePullPolicy).toBe('IfNotPresent');
          expect(c.securityContext, `${p.owner} ${c.name}`).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
          const args = gradwireInvocation(c) ?? [];
          const written = [envValue(c, 'GRADWIRE_STATUS_FILE'), envValue(c, 'GRADWIRE_CACHE'), args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined];
          for (const path of written.filter((x): x is string => x !== undefined)) {
            const mount = mountOf(c, path);
            expect(mount && !mount.readOnly, `${p.owner} ${c.name} writes ${path}`).toBe(true);
          }
        }
      }
    });

    it('the sweep Job has its own volume, a retry limit and a time to live, and resumes after a restart', () => {
      const job = find<IJob>(sweep, 'Job');
      expect(job.spec!.backoffLimit).toBeGreaterThan(0);
      expect(job.spec!.ttlSecondsAfterFinished).toBeGreaterThan(0);
      expect(['Never', 'OnFailure']).toContain(job.spec!.template.spec!.restartPolicy);
      const claim = job.spec!.template.spec!.volumes!.find((v) => v.persistentVolumeClaim)!.persistentVolumeClaim!.claimName;
      expect(find<IPersistentVolumeClaim>(sweep, 'PersistentVolumeClaim', claim)).toBeTruthy();
      expect(main.some((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === claim)).toBe(false);
      expect(find<IPod>(outputsPod, 'Pod').spec!.volumes![0]!.persistentVolumeClaim!.claimName).toBe(claim);

      const first = gradwireInvocation(sweeper)!;
      expect(first).toEqual(['sweep', '--preset', 'lecture', '--workers', '2', '--out', '/data/sweeps/lecture']);
      expect(sweepRestartInvocation(sweeper)).toEqual([...first, '--resume']);
    });
  });

  describe('commands', () => {
    it("every gradwire command line parses, with flags and GRADWIRE_ variables that gradwire's --help documents", () => {
      const invocations: Array<{ who: string; args: string[]; env: string[] }> = [];
      for (const p of pods(all)) {
        for (const c of p.spec.containers) {
          const env = (c.env ?? []).map((e) => e.name).filter((n) => n.startsWith('GRADWIRE_'));
          const args = gradwireInvocation(c);
          if (args) invocations.push({ who: `${p.owner} ${c.name}`, args, env });
          if (c === sweeper) invocations.push({ who: `${p.owner} ${c.name} (restarted)`, args: sweepRestartInvocation(c), env });
        }
      }
      expect(invocations.map((i) => i.args[0])).toEqual(['coordinator', 'worker', 'sweep', 'sweep']);
      const helps: string[] = [];
      for (const { who, args } of invocations) {
        // --help after the real arguments: gradwire's strict parser still rejects an unknown
        // flag or a missing value (exit 2) before it prints the help
        const r = gradwire([...args, '--help']);
        expect(r.status, `${who}: gradwire ${args.join(' ')}\n${r.stderr}`).toBe(0);
        for (const flag of args.filter((a) => a.startsWith('--'))) expect(r.stdout, `${who}: ${flag}`).toMatch(new RegExp(`(^|\\s)${flag}(?![\\w-])`, 'm'));
        helps.push(r.stdout);
      }
      for (const { who, env } of invocations) {
        for (const name of env) expect(helps.some((h) => new RegExp(`\\b${name}\\b`).test(h)), `${who}: ${name} is in no --help`).toBe(true);
      }
    });
  });

  describe('the health endpoints and checks the probes name, on real gradwire processes', () => {
    let port: number;
    let dir: string;

    beforeAll(async () => {
      dir = withFiles({ 'run.yaml': 'data: { name: iris }\nmodel: { hidden: [8] }\nepochs: 1\n' });
      mkdirSync(join(dir, 'coordinator'));
      mkdirSync(join(dir, 'worker'));
      // the Deployment's own args, with its paths and address moved to this machine
      const moved: Record<string, string> = { '/config/run.yaml': join(dir, 'run.yaml'), '0.0.0.0:7070': '127.0.0.1:0', '/data/runs/main': join(dir, 'out') };
      const args = coordinator.args!.slice(1).map((a) => moved[a] ?? a);
      const unmoved = args.filter((a) => a.startsWith('/') && !a.startsWith(dir));
      if (unmoved.length) throw new Error(`coordinator args: map ${unmoved.join(', ')} to a temp path in \`moved\``);
      const statusFile = (c: IContainer, role: string) => envValue(c, 'GRADWIRE_STATUS_FILE')!.replace(/^\/tmp\//, `${dir}/${role}/`);
      const c = startCoordinator([...args, '--min-workers', '1'], { GRADWIRE_STATUS_FILE: statusFile(coordinator, 'coordinator') });
      port = await listeningPort(c);
      startWorker(port, 'k8s-worker', ['--stay'], undefined, { GRADWIRE_STATUS_FILE: statusFile(worker, 'worker') });
      await c.waitForEvent('staying'); // the run is done, and --stay keeps the coordinator serving
    });

    afterAll(killAll);

    /** a probe's command, its `gradwire` run from this repo, with GRADWIRE_STATUS_FILE set */
    function probe(command: string[], statusFile: string): { status: number | null; stdout: string } {
      expect(command[0]).toBe('gradwire');
      return gradwire(command.slice(1), { env: { GRADWIRE_STATUS_FILE: statusFile } });
    }

    it('every httpGet probe path answers 200 on a coordinator started with the Deployment args, after its run is done', async () => {
      const gets = pods(all).flatMap((p) => p.spec.containers).flatMap((c) => [c.startupProbe, c.readinessProbe, c.livenessProbe])
        .flatMap((pr) => (pr?.httpGet ? [pr.httpGet.path!] : []));
      expect(gets.length).toBeGreaterThanOrEqual(2);
      for (const path of gets) {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        expect(res.status, path).toBe(200);
        expect(await res.json()).toMatchObject({ status: 'ok', state: 'done' });
      }
    });

    it("the worker's exec probe passes against a running worker, and the sweep's against a coordinator", () => {
      const w = probe(worker.livenessProbe!.exec!.command!, join(dir, 'worker/gradwire.status'));
      expect(w.status, w.stdout).toBe(0);
      expect(w.stdout).toMatch(/^healthy: worker/);
      const s = probe(sweeper.livenessProbe!.exec!.command!, join(dir, 'coordinator/gradwire.status'));
      expect(s.status, s.stdout).toBe(0);
      expect(s.stdout).toMatch(/^healthy: coordinator .*\/healthz/);
    });

    it('the exec probe fails when the status file is missing or stale (a process that never started, or is stuck)', () => {
      const missing = probe(worker.livenessProbe!.exec!.command!, join(dir, 'worker/missing.status'));
      expect(missing.status).toBe(1);
      expect(missing.stdout).toMatch(/^unhealthy: /);
      const status = JSON.parse(readFileSync(join(dir, 'worker/gradwire.status'), 'utf8')) as { updatedAt: string };
      writeFileSync(join(dir, 'worker/stale.status'), JSON.stringify({ ...status, updatedAt: new Date(Date.now() - 600_000).toISOString() }));
      const stale = probe(worker.livenessProbe!.exec!.command!, join(dir, 'worker/stale.status'));
      expect(stale.status).toBe(1);
      expect(stale.stdout).toMatch(/^unhealthy: .*old/);
    });
  });
});
