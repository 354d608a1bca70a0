import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { loadConfig, SERVICE_PORTS, type ServiceName } from '@herald/config';
import { simulatorProviderEnv } from '../../tools/provider-sim/src/provider-env';
import { SIMULATOR_PORTS } from '../../tools/provider-sim/src/ports';

// The deployment files are checked here, without a cluster or a Docker engine: every
// Kubernetes manifest against the Kubernetes API's own schemas (the kubernetes-models package's
// validators, generated from the API's OpenAPI document), then Herald's rules for them; the
// compose file's herald profile against the services it must run.

const ROOT = join(__dirname, '..', '..');
const K8S_DIR = join(ROOT, 'deploy', 'kubernetes');
const SERVICES = Object.keys(SERVICE_PORTS) as ServiceName[];
/** The services with transactional producers named by HERALD_INSTANCE_ID. */
const TRANSACTIONAL: ServiceName[] = [
  'ingest',
  'sender',
  'status-checker',
  'projector',
  'webhooks',
];
/** The services that call or know providers, and so get the providers' credentials. */
const WITH_PROVIDERS: ServiceName[] = ['ingest', 'sender', 'status-checker'];

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Manifest {
  file: string;
  doc: Obj;
}

/** Each kind the manifests may use, by apiVersion/kind, with the API's schema for it. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
};

function validateAgainstSchema(doc: Obj): void {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) throw new Error(`no schema known for ${doc.apiVersion} ${doc.kind}`);
  new Model(doc as never).validate();
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

function parseYamlFile(path: string, options: { merge?: boolean } = {}): Obj[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'), options);
  if (!Array.isArray(docs)) throw new Error(`${path}: not YAML documents`);
  for (const doc of docs) {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) {
      throw new Error(`${path}: ${problems.map((p) => p.message).join('; ')}`);
    }
  }
  return docs.map((doc) => doc.toJS() as Obj).filter((doc) => doc !== null && doc !== undefined);
}

const files = yamlFiles(K8S_DIR);
const KUSTOMIZATION = join(K8S_DIR, 'kustomization.yaml');
const manifests: Manifest[] = files
  .filter((file) => file !== KUSTOMIZATION)
  .flatMap((file) => parseYamlFile(file).map((doc) => ({ file: relative(K8S_DIR, file), doc })));
const ofKind = (kind: string) => manifests.filter(({ doc }) => doc.kind === kind);
const workloads = manifests.filter(({ doc }) => ['Deployment', 'StatefulSet'].includes(doc.kind));
const named = (kind: string, name: string) =>
  ofKind(kind).find(({ doc }) => doc.metadata?.name === name)?.doc;
const label = ({ file, doc }: Manifest) => `${file}: ${doc.kind} ${doc.metadata?.name}`;
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels[key] === value);

function workloadOf(service: ServiceName): Manifest {
  const found = workloads.find(({ doc }) => doc.metadata.name === `herald-${service}`);
  if (!found) throw new Error(`no Deployment or StatefulSet herald-${service}`);
  return found;
}

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  it('parse, every document, without a YAML error or warning', () => {
    expect(files.length).toBeGreaterThan(5);
    expect(manifests.length).toBeGreaterThan(15);
    for (const { file, doc } of manifests) {
      expect({ file, apiVersion: typeof doc.apiVersion, kind: typeof doc.kind }).toEqual({
        file,
        apiVersion: 'string',
        kind: 'string',
      });
    }
  });

  it('are each valid against the Kubernetes API schema of its kind', () => {
    const failures: string[] = [];
    for (const manifest of manifests) {
      try {
        validateAgainstSchema(manifest.doc);
      } catch (error) {
        failures.push(`${label(manifest)}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('use a validator that refuses what the API would refuse', () => {
    const sender = workloadOf('sender').doc;
    const broken = structuredClone(sender);
    broken.spec.template.spec.containers[0].resources.limits.memory = '640 megabytes';
    expect(() => validateAgainstSchema(broken)).toThrow(/memory/);
    const unnamed = structuredClone(sender);
    delete unnamed.spec.template.spec.containers[0].name;
    expect(() => validateAgainstSchema(unnamed)).toThrow(/name/);
    expect(() =>
      validateAgainstSchema({ apiVersion: 'v1', kind: 'Service', spec: { ports: 80 } }),
    ).toThrow(/ports/);
  });

  it('are all listed in kustomization.yaml, except the example Secrets', () => {
    const [kustomization] = parseYamlFile(KUSTOMIZATION);
    expect(kustomization).toMatchObject({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
    });
    const listed = (kustomization!.resources as string[]).slice().sort();
    const expected = files
      .filter((file) => file !== KUSTOMIZATION && !file.endsWith('.example.yaml'))
      .map((file) => relative(K8S_DIR, file))
      .sort();
    expect(listed).toEqual(expected);
    // The image every container names is the one kustomize's images: rewrites.
    const images = (kustomization!.images as { name: string }[]).map((image) => image.name);
    for (const { doc } of workloads) {
      for (const container of doc.spec.template.spec.containers) {
        expect(images).toContain(String(container.image).split(':')[0]);
      }
    }
  });

  it('put every object in the herald namespace', () => {
    for (const manifest of manifests) {
      if (manifest.doc.kind === 'Namespace') continue;
      expect([label(manifest), manifest.doc.metadata.namespace]).toEqual([
        label(manifest),
        'herald',
      ]);
    }
    expect(named('Namespace', 'herald')).toBeDefined();
  });

  it('run every service, each with its own command, and StatefulSets where producers are transactional', () => {
    expect(workloads.map(({ doc }) => doc.metadata.name).sort()).toEqual(
      SERVICES.map((service) => `herald-${service}`).sort(),
    );
    for (const service of SERVICES) {
      const { doc } = workloadOf(service);
      expect([service, doc.kind]).toEqual([
        service,
        TRANSACTIONAL.includes(service) ? 'StatefulSet' : 'Deployment',
      ]);
      const [container, ...others] = doc.spec.template.spec.containers;
      expect(others).toEqual([]);
      expect(container.command).toEqual(['node', `dist/apps/${service}/main.js`]);
      expect(container.ports).toEqual([
        { name: 'http', containerPort: SERVICE_PORTS[service].default },
      ]);
      // The pods' labels are the ones the workload selects.
      expect(selects(doc.spec.selector.matchLabels, doc.spec.template.metadata.labels)).toBe(true);
    }
  });

  it('give every StatefulSet a headless governing Service', () => {
    for (const { doc } of ofKind('StatefulSet')) {
      const governing = named('Service', doc.spec.serviceName);
      expect([doc.metadata.name, governing?.spec.clusterIP]).toEqual([doc.metadata.name, 'None']);
      expect(selects(governing!.spec.selector, doc.spec.template.metadata.labels)).toBe(true);
    }
  });

  it('give every container both probes, on the paths Herald serves, at its own port', () => {
    for (const { doc } of workloads) {
      for (const container of doc.spec.template.spec.containers) {
        const portNames = (container.ports as { name: string }[]).map((port) => port.name);
        expect([container.name, container.livenessProbe?.httpGet?.path]).toEqual([
          container.name,
          '/health/live',
        ]);
        expect([container.name, container.readinessProbe?.httpGet?.path]).toEqual([
          container.name,
          '/health/ready',
        ]);
        for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
          const port = container[probe]?.httpGet?.port;
          if (container[probe]) expect(portNames).toContain(port);
        }
      }
    }
  });

  it('give every container resource requests and limits for CPU and memory', () => {
    for (const { doc } of workloads) {
      for (const container of doc.spec.template.spec.containers) {
        for (const bound of ['requests', 'limits']) {
          expect([
            container.name,
            bound,
            Object.keys(container.resources?.[bound] ?? {}).sort(),
          ]).toEqual([container.name, bound, ['cpu', 'memory']]);
        }
      }
    }
  });

  it('run every container as a non-root user, without privilege escalation', () => {
    for (const { doc } of workloads) {
      const pod = doc.spec.template.spec;
      for (const container of pod.containers) {
        const context = { ...pod.securityContext, ...container.securityContext };
        expect([container.name, context.runAsNonRoot]).toEqual([container.name, true]);
        expect(context.runAsUser).toBeGreaterThan(0);
        expect(context.allowPrivilegeEscalation).toBe(false);
        expect(context.capabilities?.drop).toContain('ALL');
      }
    }
  });

  it('give every Deployment and StatefulSet exactly one PodDisruptionBudget selecting its pods', () => {
    const budgets = ofKind('PodDisruptionBudget');
    for (const workload of workloads) {
      const labels = workload.doc.spec.template.metadata.labels;
      const covering = budgets.filter(({ doc }) => selects(doc.spec.selector.matchLabels, labels));
      expect([label(workload), covering.length]).toEqual([label(workload), 1]);
      // And it selects no other workload's pods.
      const { doc: budget } = covering[0]!;
      const others = workloads.filter(
        (other) =>
          other !== workload &&
          selects(budget.spec.selector.matchLabels, other.doc.spec.template.metadata.labels),
      );
      expect(others).toEqual([]);
      // A budget that allows no disruption at all would block every node drain.
      expect(budget.spec.maxUnavailable ?? 1).toBeGreaterThan(0);
      expect(workload.doc.spec.replicas).toBeGreaterThan(budget.spec.minAvailable ?? 0);
    }
  });

  it('give every service a Service that reaches its pods on the http port', () => {
    for (const service of SERVICES) {
      const { doc } = workloadOf(service);
      const svc = named('Service', `herald-${service}`);
      expect(svc).toBeDefined();
      expect(selects(svc!.spec.selector, doc.spec.template.metadata.labels)).toBe(true);
      expect(svc!.spec.ports).toEqual([
        { name: 'http', port: SERVICE_PORTS[service].default, targetPort: 'http' },
      ]);
    }
  });

  it('take configuration from the ConfigMap, credentials from Secrets, HERALD_INSTANCE_ID from the pod name', () => {
    expect(named('ConfigMap', 'herald-config')).toBeDefined();
    for (const service of SERVICES) {
      const [container] = workloadOf(service).doc.spec.template.spec.containers;
      const secrets = [
        'herald-credentials',
        ...(WITH_PROVIDERS.includes(service) ? ['herald-providers'] : []),
      ];
      expect([service, container.envFrom]).toEqual([
        service,
        [
          { configMapRef: { name: 'herald-config' } },
          ...secrets.map((name) => ({ secretRef: { name } })),
        ],
      ]);
      const env = container.env as Obj[];
      expect(env.find((entry) => entry.name === 'HERALD_INSTANCE_ID')).toEqual({
        name: 'HERALD_INSTANCE_ID',
        valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
      });
      // No credential written into a manifest's plain env.
      for (const entry of env) {
        expect([entry.name, /PASSWORD|SECRET|TOKEN|API_KEY|MONGODB_URI/.test(entry.name)]).toEqual([
          entry.name,
          false,
        ]);
      }
    }
    const config = named('ConfigMap', 'herald-config')!.data as Record<string, string>;
    for (const name of Object.keys(config)) {
      expect([name, /PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|MONGODB_URI/.test(name)]).toEqual([
        name,
        false,
      ]);
    }
  });

  it('ship the Secrets only as a marked example, with a placeholder for every value', () => {
    const secrets = ofKind('Secret');
    expect(secrets.map(({ doc }) => doc.metadata.name).sort()).toEqual([
      'herald-credentials',
      'herald-providers',
    ]);
    for (const { file, doc } of secrets) {
      expect(file).toMatch(/\.example\.yaml$/);
      for (const [key, value] of Object.entries(doc.stringData as Record<string, string>)) {
        expect([doc.metadata.name, key, value.includes('REPLACE_ME')]).toEqual([
          doc.metadata.name,
          key,
          true,
        ]);
      }
    }
    expect(readFileSync(join(K8S_DIR, 'secret.example.yaml'), 'utf8')).toMatch(/^# EXAMPLE ONLY/);
  });

  it('make, with the example Secrets filled in, a configuration every service accepts', () => {
    const env = (service: ServiceName): Record<string, string> => ({
      ...named('ConfigMap', 'herald-config')!.data,
      ...named('Secret', 'herald-credentials')!.stringData,
      ...(WITH_PROVIDERS.includes(service) ? named('Secret', 'herald-providers')!.stringData : {}),
      HERALD_INSTANCE_ID: `herald-${service}-0`,
    });
    for (const service of SERVICES) {
      const config = loadConfig(service, env(service));
      expect(config.instanceId).toBe(`herald-${service}-0`);
      expect(config.httpHost).toBe('0.0.0.0');
      expect(config.httpPort).toBe(SERVICE_PORTS[service].default);
    }
    // The status page probes each service through its Service.
    expect(loadConfig('dashboard', env('dashboard')).dashboard.statusServices).toEqual(
      Object.fromEntries(
        SERVICES.filter((service) => service !== 'dashboard').map((service) => [
          service,
          `http://herald-${service}:${SERVICE_PORTS[service].default}`,
        ]),
      ),
    );
  });
});

// --- docker-compose.yml -----------------------------------------------------------------------

const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
// Compose reads YAML 1.1 merge keys (`<<: *anchor`), as the file's shared blocks use.
const [compose] = parseYamlFile(COMPOSE_FILE, { merge: true }) as [Obj];
const composeServices = compose.services as Record<string, Obj>;
const SERVERS = ['kafka', 'schema-registry', 'mongodb'];
const PROFILE = [...SERVICES, 'provider-sim'];
/** Compose's ${VAR:-default}, as it reads the file with VAR unset. */
const interpolate = (value: string) => value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

function composeAvailable(): { ok: true } | { ok: false; reason: string } {
  const probe = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 20_000 });
  if (probe.error) return { ok: false, reason: `no docker client (${probe.error.message})` };
  if (probe.status !== 0) {
    const said = `${probe.stderr}${probe.stdout}`.trim().split('\n')[0];
    return { ok: false, reason: `docker has no compose plugin: ${said}` };
  }
  return { ok: true };
}

describe('docker-compose.yml', () => {
  it('parses, and without a profile runs the three servers only, as before', () => {
    const withoutProfile = Object.entries(composeServices)
      .filter(([, service]) => !service.profiles)
      .map(([name]) => name);
    expect(withoutProfile.sort()).toEqual([...SERVERS].sort());
  });

  it('names every Herald service and the provider simulator in the herald profile', () => {
    const inProfile = Object.entries(composeServices)
      .filter(([, service]) => (service.profiles as string[] | undefined)?.includes('herald'))
      .map(([name]) => name);
    expect(inProfile.sort()).toEqual([...PROFILE].sort());
  });

  it('builds each from the Dockerfile and runs it by its command, healthy on /health/ready', () => {
    const instanceIds = new Set<string>();
    for (const name of PROFILE) {
      const service = composeServices[name]!;
      const isSim = name === 'provider-sim';
      const port = isSim
        ? SIMULATOR_PORTS.http.default
        : SERVICE_PORTS[name as ServiceName].default;
      expect([name, service.build]).toEqual([
        name,
        { context: '.', target: isSim ? 'provider-sim' : 'herald' },
      ]);
      const command = (service.command as string[]).join(' ');
      expect(command).toContain(
        isSim ? 'dist/tools/provider-sim/main.js' : `dist/apps/${name}/main.js`,
      );
      expect(service.ports).toEqual([`127.0.0.1:${port}:${port}`]);
      const probe = (service.healthcheck.test as string[]).join(' ');
      expect(probe).toContain(`http://127.0.0.1:${port}/health/ready`);
      if (isSim) continue;

      const env = service.environment as Record<string, string>;
      expect(env).toMatchObject({
        KAFKA_BROKERS: 'kafka:19092',
        SCHEMA_REGISTRY_URL: 'http://schema-registry:8081',
        MONGODB_URI: 'mongodb://mongodb:27017/herald',
        HERALD_HTTP_HOST: '0.0.0.0',
      });
      expect(interpolate(env.HERALD_API_KEYS!)).toMatch(/^[a-z]+:hk_sk_[A-Za-z0-9_-]{43,}$/);
      expect(env.HERALD_INSTANCE_ID).toMatch(/^[A-Za-z0-9._-]+$/);
      instanceIds.add(env.HERALD_INSTANCE_ID!);
      for (const server of SERVERS) {
        expect(service.depends_on[server]).toEqual({ condition: 'service_healthy' });
      }
    }
    expect(instanceIds.size).toBe(SERVICES.length);
  });

  it('points every provider at the simulator, with the variables simulatorProviderEnv sets', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-compose-'));
    try {
      const sim = simulatorProviderEnv(
        { http: 'http://provider-sim:4010', apns: 'http://provider-sim:4011', smtp: 'smtp://x:1' },
        dir,
      ).env;
      // The compose network is private: the simulator is allowed by name instead of turning the
      // network guard off.
      delete sim.HERALD_ALLOW_PRIVATE_NETWORKS;
      const keyFile = (path: string) => `/var/lib/herald/sim-keys/${basename(path)}`;
      for (const name of WITH_PROVIDERS) {
        const service = composeServices[name]!;
        const env = service.environment as Record<string, string>;
        const providerEnv = Object.fromEntries(Object.entries(env).filter(([key]) => key in sim));
        expect(Object.keys(providerEnv).sort()).toEqual(Object.keys(sim).sort());
        expect(env.HERALD_FCM_SERVICE_ACCOUNT_FILE).toBe(
          keyFile(sim.HERALD_FCM_SERVICE_ACCOUNT_FILE!),
        );
        expect(env.HERALD_APNS_KEY_FILE).toBe(keyFile(sim.HERALD_APNS_KEY_FILE!));
        for (const key of Object.keys(sim).filter((key) => /_BASE_URL$/.test(key))) {
          expect([key, env[key]]).toEqual([key, sim[key]]);
        }
        expect(new URL(env.HERALD_SMTP_URL!).host).toBe(
          `provider-sim:${SIMULATOR_PORTS.smtp.default}`,
        );
        expect(env.HERALD_NETWORK_ALLOWLIST).toBe('provider-sim');
        expect(service.depends_on['provider-sim']).toEqual({ condition: 'service_healthy' });
        expect(service.volumes).toEqual(['herald-sim-keys:/var/lib/herald:ro']);
      }
      // The simulator writes the key files there before it serves.
      expect(composeServices['provider-sim']!.volumes).toEqual(['herald-sim-keys:/var/lib/herald']);
      expect(composeServices['provider-sim']!.command.join(' ')).toContain(
        'env /var/lib/herald/sim-keys',
      );
      for (const name of SERVICES.filter((service) => !WITH_PROVIDERS.includes(service))) {
        const env = composeServices[name]!.environment as Record<string, string>;
        expect([name, Object.keys(env).filter((key) => key in sim)]).toEqual([name, []]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives each service a configuration it accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-compose-'));
    try {
      const sim = simulatorProviderEnv(
        { http: 'http://provider-sim:4010', apns: 'http://provider-sim:4011', smtp: 'smtp://x:1' },
        dir,
      ).env;
      expect(sim.HERALD_APNS_KEY_FILE!.startsWith(dir)).toBe(true);
      const configs = Object.fromEntries(
        SERVICES.map((name) => {
          const env = Object.fromEntries(
            Object.entries(composeServices[name]!.environment as Record<string, string>).map(
              ([key, value]) => [
                key,
                // The key files as the simulator writes them, here in a temporary folder.
                interpolate(value).replace('/var/lib/herald/sim-keys', dir),
              ],
            ),
          );
          const config = loadConfig(name, env);
          expect(config.instanceId).toBe(env.HERALD_INSTANCE_ID);
          return [name, config];
        }),
      );
      for (const name of SERVICES) {
        expect([name, configs[name]!.httpPort]).toEqual([name, SERVICE_PORTS[name].default]);
      }
      // The status page probes each service by its name on the compose network.
      expect(configs.dashboard!.dashboard.statusServices).toEqual(
        Object.fromEntries(
          SERVICES.filter((service) => service !== 'dashboard').map((service) => [
            service,
            `http://${service}:${SERVICE_PORTS[service].default}`,
          ]),
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const available = composeAvailable();
  if (available.ok) {
    it('is accepted by `docker compose config -q`, with and without the herald profile', () => {
      for (const profile of [[], ['--profile', 'herald']]) {
        const result = spawnSync(
          'docker',
          ['compose', '-f', COMPOSE_FILE, ...profile, 'config', '-q'],
          { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
        );
        expect([profile, result.status, result.stderr]).toEqual([profile, 0, '']);
      }
    });
  } else {
    // Nothing else here asserts what only Compose itself can tell; say why it did not run.
    it.skip(`is accepted by \`docker compose config -q\` (skipped: ${available.reason})`, () => {});
  }
});

// --- Dockerfile -------------------------------------------------------------------------------

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)\s+AS\s+(\S+)/gim)].map((m) => m[2]);

  it('builds on Node 20, then runs with production dependencies only', () => {
    expect(dockerfile).toMatch(/^ARG NODE_BUILD_IMAGE=node:20\b/m);
    expect(dockerfile).toMatch(/^ARG NODE_RUNTIME_IMAGE=node:20\b/m);
    expect(stages).toEqual(['build', 'prod-deps', 'runtime', 'provider-sim', 'herald']);
    expect(dockerfile).toMatch(/RUN npm ci\b.*\n.*\nRUN npm run build/);
    expect(dockerfile).toMatch(/RUN npm ci --omit=dev/);
    expect(dockerfile).toMatch(/COPY --from=prod-deps \/app\/node_modules/);
    expect(dockerfile).toMatch(/COPY --from=build \/app\/dist \.\/dist/);
    expect(dockerfile).toMatch(/COPY schemas \.\/schemas/);
  });

  it('runs as the non-root user the Kubernetes pods name, listening on every interface', () => {
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(users).toEqual(['1000:1000']);
    for (const { doc } of workloads) {
      expect(doc.spec.template.spec.securityContext.runAsUser).toBe(1000);
    }
    expect(dockerfile).toMatch(/HERALD_HTTP_HOST=0\.0\.0\.0/);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/apps\/ingest\/main\.js"\]$/m);
  });

  it('keeps the build context small', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const path of ['node_modules', 'dist', '.git', '.herald']) expect(ignored).toContain(path);
  });
});
