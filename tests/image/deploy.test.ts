import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { parentProcesses } from '../../parent/supervisor';

/* deploy/: the files agree with each other and with what `cloister run` starts. */

const DEPLOY = join(__dirname, '..', '..', 'deploy');
const read = (path: string) => readFileSync(join(DEPLOY, path), 'utf8');

/** A unit's [Section] Key=value pairs (continuation lines joined). */
function unit(path: string): Record<string, string[]> {
  const keys: Record<string, string[]> = {};
  for (const line of read(path)
    .replace(/\s*\\\n\s*/g, ' ')
    .split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match) (keys[match[1]!] ??= []).push(match[2]!.trim());
  }
  return keys;
}

const env = Object.fromEntries(
  read('systemd/cloister.env')
    .split('\n')
    .filter((l) => /^\w+=/.test(l))
    .map((l) => l.split('=') as [string, string]),
);

describe('deploy/systemd', () => {
  it('the split units start exactly what cloister run starts', () => {
    const expected = parentProcesses(
      { config: '${CLOISTER_CONFIG}', port: '${CLOISTER_PORT}' as unknown as number },
      '${CLOISTER_CID}' as unknown as number,
      '/opt/cloister/app/dist/parent',
    );
    const units = {
      bridge: 'cloister-bridge.service',
      'egress-relay': 'cloister-egress-relay.service',
      'config-push': 'cloister-config-push.service',
      'log-sink': 'cloister-log-sink.service',
    };
    for (const p of expected) {
      expect(unit(`systemd/${units[p.name]}`).ExecStart).toEqual([`/usr/bin/node ${p.script} ${p.args.join(' ')}`]);
    }
  });

  it('cloister-run.service runs cloister run with every setting from cloister.env, and the allocator covers it', () => {
    const run = unit('systemd/cloister-run.service');
    expect(run.ExecStart).toEqual([
      '/usr/bin/node /opt/cloister/app/dist/cli/index.js run --eif ${CLOISTER_EIF} --config ${CLOISTER_CONFIG} ' +
        '--cpus ${CLOISTER_CPUS} --memory ${CLOISTER_MEMORY_MIB} --cid ${CLOISTER_CID} --port ${CLOISTER_PORT}',
    ]);
    expect(run.EnvironmentFile).toEqual(['/etc/cloister/cloister.env']);
    for (const file of [
      'cloister-run.service',
      'cloister-enclave.service',
      'cloister-bridge.service',
      'cloister-egress-relay.service',
      'cloister-config-push.service',
      'cloister-log-sink.service',
    ]) {
      for (const [, name] of read(`systemd/${file}`).matchAll(/\$\{(\w+)\}/g))
        expect({ file, name, defined: name! in env }).toEqual({ file, name, defined: true });
    }
    const allocator = parse(read('nitro_enclaves/allocator.yaml')) as { memory_mib: number; cpu_count: number };
    expect(allocator.memory_mib).toBeGreaterThanOrEqual(Number(env.CLOISTER_MEMORY_MIB));
    expect(allocator.cpu_count).toBeGreaterThanOrEqual(Number(env.CLOISTER_CPUS));
  });
});

describe('deploy/kubernetes', () => {
  const docs = ['namespace.yaml', 'configmap.yaml', 'deployment.yaml'].flatMap((f) => parseAllDocuments(read(`kubernetes/${f}`)).map((d) => d.toJS()));
  const deployment = docs.find((d) => d.kind === 'Deployment');
  const container = deployment.spec.template.spec.containers[0];
  const flag = (name: string) => container.command[container.command.indexOf(name) + 1];

  it('parses, and runs one enclave per pod through the device plugin with huge pages for its memory', () => {
    expect(docs.map((d) => d.kind)).toEqual(['Namespace', 'ConfigMap', 'Deployment', 'Service']);
    for (const kind of ['limits', 'requests']) {
      expect(container.resources[kind]['aws.ec2.nitro/nitro_enclaves']).toBe('1');
      expect(container.resources[kind]['hugepages-2Mi']).toBe(`${flag('--memory')}Mi`);
    }
    expect(container.command.slice(0, 3)).toEqual(['node', '/opt/cloister/app/dist/cli/index.js', 'run']);
    expect(deployment.spec.template.spec.nodeSelector).toEqual({ 'aws-nitro-enclaves-k8s-dp': 'enabled' });
    const anti = deployment.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
    expect(anti.topologyKey).toBe('kubernetes.io/hostname');
  });

  it('gives the pod the configuration from the ConfigMap at the path cloister run reads', () => {
    const configMap = docs.find((d) => d.kind === 'ConfigMap');
    const volume = deployment.spec.template.spec.volumes.find((v: { configMap?: { name: string } }) => v.configMap?.name === configMap.metadata.name);
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === volume.name);
    const file = Object.keys(configMap.data)[0]!;
    expect(flag('--config')).toBe(`${mount.mountPath}/${file}`);
    expect(() => JSON.parse(configMap.data[file])).not.toThrow();
    const service = docs.find((d) => d.kind === 'Service');
    expect(container.ports[0].containerPort).toBe(Number(flag('--port')));
    expect(service.spec.ports[0].targetPort).toBe(container.ports[0].name);
  });
});
