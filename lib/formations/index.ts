/**
 * `bm start --formation <non-local>`: bm resolves the formation, runs its manager and reads the
 * topology.json the manager wrote. The deployment itself (kubectl and all) lives in the
 * formation's hat scripts, not here.
 *
 * Before running the manager bm checks whether there is anything to do: when the topology lists
 * exactly the hired members, every input file it was made from is unchanged and every endpoint
 * is healthy, the manager is skipped. That check is the whole of a repeated `bm start`, so
 * what only a deploy needs (the manager runner, prompts) is imported when a deploy happens.
 */
import { existsSync, statSync } from 'node:fs';
import { readAgentFile } from '../files.ts';
import { health } from '../endpoints/index.ts';
import type { ResolvedFormation } from '../lifecycle/formation.ts';
import { BmError, info, isTerminal } from '../output.ts';
import { inside } from '../paths.ts';
import type { Topology } from '../schema.ts';
import { memberNames, type Team } from '../team.ts';
import { readTopology } from '../topology.ts';

/** Options of `startFormation`. */
export interface FormationStartOptions {
  /** Print what would be deployed, checked by the target, and change nothing. */
  dryRun?: boolean;
  /** Do not ask before replacing or deleting members. */
  yes?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** What `startFormation` did. */
export type FormationStartResult =
  | { action: 'up-to-date'; members: number }
  | { action: 'dry-run' }
  | { action: 'deployed'; members: number; topology: Topology };

function sha256(file: string): string | null {
  const text = readAgentFile(file);
  // node:crypto loads on first use: a local `bm start` never hashes.
  return text === undefined ? null : process.getBuiltinModule('node:crypto').createHash('sha256').update(text).digest('hex');
}

/**
 * Why the recorded deployment is not current, or undefined when it is: same formation, same
 * members, same input files, same credentials, and every endpoint running, healthy and as it
 * was deployed (the live objects are compared with what the topology recorded).
 */
export async function staleness(team: Team, formation: ResolvedFormation, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const read = readTopology(team.paths.topology);
  if (read.kind !== 'ok') return read.kind === 'missing' ? 'nothing deployed yet' : `topology unreadable (${read.reason})`;
  const topology = read.topology;
  if (topology.formation !== formation.name) return `deployed with formation '${topology.formation}'`;
  const hired = memberNames(team);
  const recorded = Object.keys(topology.members).sort();
  if (hired.length === 0 || hired.join() !== recorded.join()) return 'the team\'s members changed';
  const inputs = topology.inputs as Record<string, string | null> | undefined;
  if (!inputs || typeof inputs !== 'object') return 'the topology records no inputs';
  // The health checks go out first: hashing the inputs overlaps the round-trip to the cluster.
  const checking = Promise.all(Object.entries(topology.members).map(async ([key, m]) => ({ key, live: await health(m.endpoint, m) })));
  checking.catch(() => undefined);
  for (const [rel, hash] of Object.entries(inputs)) {
    if (sha256(inside(team.paths.repo, rel)) !== hash) return `${rel} changed`;
  }
  if (typeof topology.secret_version === 'string' && typeof topology.namespace === 'string') {
    const { managerEnv } = await import('./manager.ts');
    const { credentialsOf, secretVersion } = await import('../../formations/k8s/kube.ts');
    if (secretVersion(topology.namespace, credentialsOf(managerEnv(team, env))) !== topology.secret_version) return 'the credentials changed';
  }
  const checks = await checking;
  const unwell = checks.find((c) => c.live.status !== 'running' || c.live.detail);
  return unwell ? `${unwell.key} is ${unwell.live.status}${unwell.live.detail ? ` (${unwell.live.detail})` : ''}` : undefined;
}

interface Plan {
  recreate?: { member: string; why: string }[];
  remove?: string[];
}

/** On a TTY, asks before a deploy that would replace or delete running members. */
async function confirmDisruption(formation: ResolvedFormation, env: NodeJS.ProcessEnv): Promise<void> {
  const { runScript, scriptsOf } = await import('./manager.ts');
  const { closePrompts, confirm } = await import('../prompt.ts');
  const [deployer] = scriptsOf(formation);
  const run = await runScript(formation, deployer, ['--plan'], env, 'capture');
  if (run.code !== 0) throw new BmError(`Formation '${formation.name}' could not plan the deploy (exit code: ${run.code})`, 'See its error above.');
  const plan = JSON.parse(run.stdout) as Plan;
  const lines = [...(plan.recreate ?? []).map((r) => `  replace ${r.member} (${r.why})`), ...(plan.remove ?? []).map((m) => `  delete ${m} (no longer a member)`)];
  if (lines.length === 0) return;
  info(`This deploy would restart or remove running members:\n${lines.join('\n')}`);
  const yes = await confirm('Go ahead?');
  closePrompts();
  if (!yes) throw new BmError('Deploy cancelled; nothing was changed', 'Run `bm start --formation ' + formation.name + ' --yes` to deploy without asking.');
}

/** Deploys the team with a non-local formation through its manager. */
export async function startFormation(team: Team, formation: ResolvedFormation, options: FormationStartOptions = {}): Promise<FormationStartResult> {
  if (options.dryRun) {
    const { linkPackages, managerEnv, runScript, scriptsOf } = await import('./manager.ts');
    const env = managerEnv(team, options.env);
    linkPackages(formation.dir);
    const [deployer] = scriptsOf(formation);
    const run = await runScript(formation, deployer, ['--dry-run'], env, 'stdout');
    if (run.code !== 0) throw new BmError(`The dry run of formation '${formation.name}' failed (exit code: ${run.code})`, 'See its error above; nothing was changed.');
    return { action: 'dry-run' };
  }

  const why = await staleness(team, formation, options.env);
  if (why === undefined) {
    const count = memberNames(team).length;
    info(`All ${count} member(s) are running on formation '${formation.name}' and nothing changed; skipping the formation manager.`);
    return { action: 'up-to-date', members: count };
  }
  info(`Deploying: ${why}.`);

  const { linkPackages, managerEnv, runManager } = await import('./manager.ts');
  const { canPrompt } = await import('../prompt.ts');
  const env = managerEnv(team, options.env);
  linkPackages(formation.dir);
  if (!options.yes && canPrompt() && isTerminal(2)) await confirmDisruption(formation, env);

  // Remembered before anything is deployed: whatever the manager leaves there, status and stop look for it.
  const { deployContext, forgetContexts, recordPartialDeploy, rememberContext } = await import('../lifecycle/clusters.ts');
  const context = deployContext(formation);
  const firstTime = context !== undefined && rememberContext(team, context);
  info(`Launching formation manager for '${formation.name}' formation...`);
  const began = Date.now();
  try {
    await runManager(formation, env);
  } catch (error) {
    if (context) {
      try {
        const pods = await recordPartialDeploy(team, formation.name, context);
        if (pods > 0) info(`The deploy failed part-way; the ${pods} pod(s) it left are recorded: \`bm status\` shows them, \`bm stop\` removes them.`);
      } catch (reading) {
        // A cluster that never answered got nothing: a first deploy there leaves nothing to look for.
        if (firstTime) forgetContexts(team, [context]);
        else info(`Could not read what the failed deploy left in context ${context} (${(reading as Error).message}); \`bm status\` looks again.`);
      }
    }
    throw error;
  }
  const file = team.paths.topology;
  // Whole-second mtimes on some filesystems: allow for the rounding.
  if (!existsSync(file) || statSync(file).mtimeMs < began - 1000) {
    throw new BmError(`Formation manager completed but no topology file was written at ${file}`, 'Check the manager\'s output above.');
  }
  const read = readTopology(file);
  if (read.kind !== 'ok') throw new BmError(`Formation manager wrote an unreadable topology at ${file} (${read.kind === 'corrupt' ? read.reason : 'missing'})`, 'Check the topology writer hat.');
  info(`Formation '${formation.name}' deployed successfully.`);
  return { action: 'deployed', members: Object.keys(read.topology.members).length, topology: read.topology };
}

/** The stdout summary line of a formation start. */
export function summary(formation: ResolvedFormation, result: FormationStartResult): string | undefined {
  switch (result.action) {
    case 'up-to-date': return `Formation '${formation.name}' is up to date: ${result.members} member(s) running.`;
    case 'deployed': return `Deployed ${result.members} member(s) with formation '${formation.name}'.`;
    case 'dry-run': return undefined;
  }
}
