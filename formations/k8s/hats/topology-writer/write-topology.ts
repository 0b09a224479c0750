/**
 * The topology-writer hat: records where each member runs in `{workzone}/{team}/topology.json`
 * (mode 0600, written atomically), with one `{type: k8s, context, namespace, pod, container}`
 * endpoint per member pod, and the input files the deployment was made from with their
 * sha256, so `bm start` can tell later whether anything changed.
 *
 *   node hats/topology-writer/write-topology.ts
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { $ } from 'zx/core';
import { CONTAINER, HASH_ANNOTATION, deployment, fail, lastLine, memberInputs, memberNames, podHealth, podsOf, teamSelector } from '../../kube.ts';

const d = deployment(path.resolve(import.meta.dirname, '..', '..'));
const got = await $({ quiet: true, nothrow: true })`kubectl ${d.flags} get pods -n ${d.namespace} -l ${teamSelector(d)} -o json`;
if (got.exitCode !== 0) fail(`Could not read the pods of namespace ${d.namespace} (${lastLine(got.stderr)})`, 'Check the cluster, then run `bm start --formation k8s` again.');
const pods = new Map(podsOf(got.stdout).map((p) => [p.metadata.name, p]));

const members: Record<string, unknown> = {};
const inputs: Record<string, string | null> = {};
const sha256 = (file: string) => (existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : null);
inputs[path.relative(d.teamRepo, path.join(d.formationDir, 'formation.yml'))] = sha256(path.join(d.formationDir, 'formation.yml'));
for (const member of memberNames(d)) {
  const pod = pods.get(member);
  if (!pod) continue;
  members[member] = {
    status: podHealth(pod).state === 'ready' ? 'running' : 'error',
    member,
    project: null,
    started_at: pod.status?.startTime ?? null,
    config_hash: pod.metadata.annotations?.[HASH_ANNOTATION] ?? null,
    endpoint: { type: 'k8s', context: d.context, namespace: d.namespace, pod: member, container: CONTAINER },
  };
  for (const rel of memberInputs(member)) inputs[rel] = sha256(path.join(d.teamRepo, rel));
}

const topology = { formation: path.basename(d.formationDir), created_at: new Date().toISOString(), namespace: d.namespace, context: d.context, inputs, members };
mkdirSync(d.teamDir, { recursive: true });
const file = path.join(d.teamDir, 'topology.json');
const temp = `${file}.${process.pid}.tmp`;
writeFileSync(temp, `${JSON.stringify(topology, null, 2)}\n`, { mode: 0o600 });
renameSync(temp, file);
process.stderr.write(`Wrote ${file} (${Object.keys(members).length} member(s)).\n`);
