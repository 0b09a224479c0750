/**
 * `bm logs MEMBER [-f] [-n N] [--previous]`: prints a member's log, or follows it like `tail -f`.
 * A member running locally logs to BM_HOME/logs/<team>/<member>.log; a member running in a pod
 * (the topology says so) logs to its container, read from the cluster, also from before the last
 * restart with `--previous`. A member with one workspace per project has one log per project;
 * name one as `member/project`, or get them all with a header each.
 */
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, isMain, runMain, teamOption } from '../lib/cli.ts';
import { logFileOf, slotsOf } from '../lib/lifecycle/slots.ts';
import { validateName } from '../lib/names.ts';
import { BmError, UsageError, out, write } from '../lib/output.ts';
import { home } from '../lib/paths.ts';
import { followAppends, positionOf, tailLines, type LogPosition } from '../lib/logs.ts';
import { loadTeamFromFlag, memberNames, type Team } from '../lib/team.ts';
import { readTopology } from '../lib/topology.ts';
import type { Endpoint } from '../lib/schema.ts';

interface LogFile {
  key: string;
  file: string;
}

/** The log files of `spec` (`member` or `member/project`), hired or not (a fired member keeps its log). */
function logsOf(team: Team, spec: string): LogFile[] {
  const [member, project] = spec.split('/');
  validateName('member', member);
  if (project !== undefined) validateName('project', project);
  const candidates = memberNames(team).includes(member)
    ? slotsOf(team, [member]).map((s) => ({ key: s.key, file: s.log }))
    : [];
  const dir = home.logs(team.name);
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      const match = /^([a-z0-9-]+)(?:\.([a-z0-9-]+))?\.log$/.exec(name);
      if (!match || match[1] !== member) continue;
      const key = match[2] ? `${member}/${match[2]}` : member;
      if (!candidates.some((c) => c.file === path.join(dir, name))) candidates.push({ key, file: logFileOf(team.name, key) });
    }
  }
  return candidates.filter((c) => existsSync(c.file) && (project === undefined || c.key === spec || c.key === member));
}

/** Prints a log file up to byte `end` (where a follower will take over). */
function printWhole(file: string, end: number): Promise<void> {
  if (end === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const stream = createReadStream(file, { end: end - 1 });
    stream.on('error', reject);
    stream.on('end', resolve);
    stream.on('data', (chunk) => write(1, chunk));
  });
}

/** Prints what is appended to each log, with a header when the log changes, until interrupted. */
async function follow(logs: LogFile[], from: Map<string, LogPosition>): Promise<void> {
  const keyOf = new Map(logs.map((l) => [l.file, l.key]));
  let lastKey = logs.length > 1 ? undefined : logs[0].key;
  const stop = followAppends(logs.map((l) => l.file), (file, data) => {
    const key = keyOf.get(file);
    if (lastKey !== key) out(`\n==> ${key} <==`);
    lastKey = key;
    write(1, data);
  }, { from });
  await new Promise<void>((resolve) => {
    const end = () => {
      stop();
      resolve();
    };
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
  });
}

/** The pod endpoints the topology records for `spec` (`member` or `member/project`). */
function podsOf(team: Team, spec: string): { key: string; endpoint: Extract<Endpoint, { type: 'k8s' }> }[] {
  const read = readTopology(team.paths.topology);
  if (read.kind !== 'ok') return [];
  return Object.entries(read.topology.members)
    .filter(([key]) => key === spec || key.split('/')[0] === spec)
    .flatMap(([key, m]) => (m.endpoint.type === 'k8s' ? [{ key, endpoint: m.endpoint }] : []));
}

/** Prints (or follows) the output of member pods from the cluster. */
async function podOutput(pods: ReturnType<typeof podsOf>, options: { follow: boolean; previous: boolean; lines?: number }): Promise<void> {
  const { podLogs } = await import('../lib/endpoints/k8s.ts');
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  const read = async ({ key, endpoint }: (typeof pods)[number]) => {
    try {
      await podLogs(endpoint, { follow: options.follow, previous: options.previous, tailLines: options.lines, signal: abort.signal }, (chunk) => write(1, pods.length > 1 && options.follow ? chunk.replace(/^(?=.)/gm, `[${key}] `) : chunk));
    } catch (error) {
      throw new BmError(`Could not read the log of pod ${endpoint.pod} (context ${endpoint.context}): ${(error as Error).message}`, options.previous ? 'There is a previous log only after the container restarted; see `bm status -v`.' : 'Check the cluster with `bm status`.');
    }
  };
  // Followed logs interleave (each line tagged with its member); printed ones come one after the other.
  if (options.follow) {
    await Promise.all(pods.map(read));
    return;
  }
  for (const pod of pods) {
    if (pods.length > 1) out(`==> ${pod.key} (pod/${pod.endpoint.pod}) <==`);
    await read(pod);
  }
}

export const command = defineCommand({
  name: 'logs',
  summary: 'Print or follow a member\'s log',
  description: 'Prints a member\'s output: BM_HOME/logs/<team>/<member>.log for a local member, its container\'s\nlog from the cluster for a member in a pod (--previous: from before its last restart). With -f,\nkeeps printing until interrupted. On a team with several projects, MEMBER/PROJECT picks one log.',
  args: [{ name: 'member', description: 'member name, e.g. dev-alice (or dev-alice/PROJECT)', required: true, complete: 'members' }],
  options: {
    follow: { type: 'boolean', short: 'f', description: 'keep printing new lines until interrupted' },
    lines: { type: 'string', short: 'n', value: 'N', description: 'print only the last N lines first' },
    previous: { type: 'boolean', short: 'p', description: 'a pod member: the output of its container before the last restart' },
    team: teamOption,
  },
  examples: ['bm logs dev-alice', 'bm logs dev-alice -f', 'bm logs dev-alice -n 50', 'bm logs dev-alice --previous'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const spec = cli.args.member ?? '';
    const raw = cli.string('lines');
    const lines = raw === undefined ? undefined : Number(raw);
    if (lines !== undefined && (!Number.isInteger(lines) || lines < 0)) throw new UsageError(`--lines needs a whole number, not '${raw}'`, 'Example: `bm logs dev-alice -n 50`.');
    const [member] = spec.split('/');
    validateName('member', member);
    const pods = podsOf(team, spec);
    if (pods.length > 0) {
      await podOutput(pods, { follow: cli.flag('follow'), previous: cli.flag('previous'), lines });
      return;
    }
    if (cli.flag('previous')) throw new UsageError('--previous is for members running in a pod', `'${spec}' is not deployed in a pod (see \`bm status\`).`);
    const logs = logsOf(team, spec);
    if (logs.length === 0) {
      throw new BmError(`No log for '${spec}' in team '${team.name}' yet`, `Logs appear once \`bm start\` has run the member; they live in ${home.logs(team.name)}.`);
    }
    // Where each log ends now: what is printed stops there, and a follower takes over from there.
    const ends = new Map(logs.map((log) => [log.file, positionOf(log.file)]));
    for (const log of logs) {
      const end = ends.get(log.file)?.offset ?? 0;
      if (logs.length > 1) out(`==> ${log.key} <==`);
      if (lines === undefined) await printWhole(log.file, end);
      else for (const line of tailLines(log.file, lines, Math.max(64 * 1024, lines * 1024), end)) out(line);
    }
    if (cli.flag('follow')) await follow(logs, ends);
  },
});

if (isMain(import.meta.url, command)) void runMain(command);
