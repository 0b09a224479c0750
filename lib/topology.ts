/**
 * `{team dir}/topology.json`: where each member of a team runs, written by `bm start` (or a
 * formation manager) and read by `bm status` and `bm stop`.
 *
 *   { "formation": "local", "created_at": "<ISO>",
 *     "members": { "<key>": { "status": "running", "member": "dev-alice", "project": null,
 *                             "started_at": "<ISO>", "endpoint": { "type": "local", ... } } } }
 *
 * Keys are the same member keys as in state.json. Writes are atomic, mode 0600, under a lock;
 * a corrupt file is reported to the caller, which falls back to state.json.
 */
import { rmSync } from 'node:fs';
import { readTextIfExists, withFileLock, writeFileAtomic } from './files.ts';
import { acceptName } from './names.ts';
import { checkedBefore, rememberChecked } from './parse-cache.ts';
import { warn } from './output.ts';
import { topologySchema, type Endpoint, type Topology } from './schema.ts';

export type { Endpoint, Topology };

/** One member's record in the topology. */
export type TopologyMember = Topology['members'][string];

/** The outcome of reading a topology file. */
export type TopologyRead =
  | { kind: 'missing' }
  | { kind: 'ok'; topology: Topology }
  | { kind: 'corrupt'; reason: string };

function parseTopology(text: string, file: string): TopologyRead {
  // @speed-only-begin: status reads the same topology at every look; its check is most of the cost.
  const known = checkedBefore('topology', file, text);
  if (known) return { kind: 'ok', topology: withAcceptableNames(known.value as Topology, file) };
  // @speed-only-end
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { kind: 'corrupt', reason: `not valid JSON (${(error as Error).message})` };
  }
  const parsed = topologySchema().safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: 'corrupt', reason: `${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}` };
  }
  rememberChecked('topology', file, text, parsed.data);
  return { kind: 'ok', topology: withAcceptableNames(parsed.data, file) };
}

/** Kubernetes object names (RFC 1123 subdomain): what a k8s endpoint may hand to kubectl. */
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * A formation manager (an agent) writes the topology: a member whose key or endpoint names fail
 * the name checks is dropped with a warning, never shown as a row or passed to kubectl.
 */
function withAcceptableNames(topology: Topology, file: string): Topology {
  const members: Topology['members'] = {};
  for (const [key, member] of Object.entries(topology.members)) {
    const [name, project, ...rest] = key.split('/');
    if (rest.length > 0 || !acceptName('member', name, file) || (project !== undefined && !acceptName('project', project, file))) continue;
    const ep = member.endpoint;
    if (ep.type === 'k8s' && ![ep.namespace, ep.pod, ep.container].every((n) => K8S_NAME.test(n))) {
      warn(`${file}: ignoring member '${key}': its endpoint names are not Kubernetes object names. Fix or remove the file (\`bm stop\` then \`bm start\` rewrites it).`);
      continue;
    }
    members[key] = member;
  }
  return { ...topology, members };
}

/** Reads a topology file without ever throwing on its contents. */
export function readTopology(file: string): TopologyRead {
  let text: string | undefined;
  try {
    text = readTextIfExists(file);
  } catch (error) {
    return { kind: 'corrupt', reason: (error as Error).message };
  }
  return text === undefined ? { kind: 'missing' } : parseTopology(text, file);
}

/** Writes a topology atomically with mode 0600. */
export function writeTopology(file: string, topology: Topology): void {
  withFileLock(file, () => writeFileAtomic(file, `${JSON.stringify(topology, null, 2)}\n`, 0o600));
}

/**
 * Read-modify-write under the lock: `change` gets the current topology (undefined when missing
 * or corrupt) and returns the new one, `null` to remove the file, or undefined to leave it as is.
 */
export function updateTopology(file: string, change: (current: Topology | undefined) => Topology | null | undefined): void {
  withFileLock(file, () => {
    const read = readTopology(file);
    const next = change(read.kind === 'ok' ? read.topology : undefined);
    if (next === null) rmSync(file, { force: true });
    else if (next !== undefined) writeFileAtomic(file, `${JSON.stringify(next, null, 2)}\n`, 0o600);
  });
}

/** Removes the topology file (no error when it is already gone). */
export function removeTopology(file: string): void {
  withFileLock(file, () => rmSync(file, { force: true }));
}
