/**
 * The topology-writer hat: records where each member runs in `{workzone}/{team}/topology.json`
 * (mode 0600, written atomically): one `{type: k8s, context, namespace, pod, container,
 * statefulset}` endpoint per member workspace, what was deployed (config hash, credentials
 * version, image), and the input files with their sha256, so `bm start` can tell later whether
 * anything changed, here or on the cluster.
 *
 *   node hats/topology-writer/write-topology.ts
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { credentialsOf, deployment, desiredMembers, itemsOf, memberInputs, podHealth, podName, secretVersion, slotsOf, statefulSetName, teamSelector } from '../../kube.ts';
import { failWith, kubectl } from '../../kubectl.ts';

const d = deployment(path.resolve(import.meta.dirname, '..', '..'));
const got = await kubectl(d, ['get', 'pods', '-n', d.namespace, '-l', teamSelector(d), '-o', 'json']);
if (got.exitCode !== 0) failWith(d, got, `Could not read the pods of namespace ${d.namespace}`);
const pods = new Map(itemsOf(got.stdout).map((p) => [p.metadata.name, p]));
const credentials = credentialsOf(process.env);

const members: Record<string, unknown> = {};
const inputs: Record<string, string | null> = {};
const sha256 = (file: string) => (existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : null);
for (const rel of [path.relative(d.teamRepo, path.join(d.formationDir, 'formation.yml')), 'botminter.yml']) inputs[rel] = sha256(path.join(d.teamRepo, rel));
for (const want of desiredMembers(d, credentials)) {
  const pod = pods.get(podName(want.member));
  if (!pod) continue;
  for (const slot of slotsOf(d, want.member)) {
    members[slot.key] = {
      status: podHealth(pod).state === 'ready' ? 'running' : 'error',
      member: want.member,
      project: slot.project,
      started_at: pod.status?.startTime ?? null,
      config_hash: want.hash,
      secret_version: want.secretVersion,
      image: d.image,
      endpoint: { type: 'k8s', context: d.context, namespace: d.namespace, pod: podName(want.member), container: slot.container, statefulset: statefulSetName(want.member) },
    };
  }
  for (const rel of memberInputs(want.member)) inputs[rel] = sha256(path.join(d.teamRepo, rel));
}

const topology = {
  formation: path.basename(d.formationDir),
  created_at: new Date().toISOString(),
  namespace: d.namespace,
  context: d.context,
  secret_version: secretVersion(d.namespace, credentials),
  inputs,
  members,
};
mkdirSync(d.teamDir, { recursive: true });
const file = path.join(d.teamDir, 'topology.json');
const temp = `${file}.${process.pid}.tmp`;
writeFileSync(temp, `${JSON.stringify(topology, null, 2)}\n`, { mode: 0o600 });
renameSync(temp, file);
process.stderr.write(`Wrote ${file} (${Object.keys(members).length} member(s)).\n`);
