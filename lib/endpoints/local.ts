/**
 * The `local` endpoint: a ralph process on this machine, `{type: local, pid, started, workspace}`.
 *
 * Health is the pid plus its start time (a reused pid is not our member). Stop asks ralph to end
 * its loop (`ralph loops stop` in the workspace), waits for the iteration in progress, then
 * escalates to SIGTERM and SIGKILL on the process group; `force` starts at SIGTERM.
 */
import { endGroup, isOurs, run, terminate, waitForExit, which } from '../proc.ts';
import type { EndpointDriver, Health, StopOptions, StopResult } from './index.ts';
import type { Endpoint } from '../schema.ts';

type LocalEndpoint = Extract<Endpoint, { type: 'local' }>;

/**
 * Asks ralph to stop at the next iteration boundary; resolves to an error text when it could not.
 * `bm stop` waits for this.
 */
async function requestLoopStop(workspace: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const ralph = which('ralph', env);
  if (!ralph) return '`ralph` is not on PATH';
  try {
    const result = await run(ralph, ['loops', 'stop'], { cwd: workspace, env, timeoutMs: 15_000 });
    if (result.code === 0) return undefined;
    return `ralph loops stop failed: ${result.stderr.trim().split('\n').pop() || (result.code === null ? 'no answer within 15s' : `exit ${result.code}`)}`;
  } catch (error) {
    return `ralph loops stop failed: ${(error as Error).message}`;
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
}

/** The local endpoint driver. */
export const driver: EndpointDriver<LocalEndpoint> = {
  async health(endpoint): Promise<Health> {
    return isOurs(endpoint.pid, endpoint.started) ? { status: 'running' } : { status: 'stopped' };
  },

  async stop(endpoint, options: StopOptions): Promise<StopResult> {
    const { pid, started = '' } = endpoint;
    if (!isOurs(pid, started)) return { outcome: 'not-running' };
    let detail: string | undefined;
    if (!options.force) {
      const refused = await requestLoopStop(endpoint.workspace, options.env ?? process.env);
      if (!refused && (await waitForExit(pid, started, options.timings.stopGraceMs, 100))) {
        // What it left behind in its group goes too.
        await endGroup(pid, started, options.timings.stopKillMs);
        return { outcome: 'stopped' };
      }
      detail = refused ?? `still running ${seconds(options.timings.stopGraceMs)} after \`ralph loops stop\``;
    }
    const ended = await terminate(pid, started, options.timings.stopKillMs);
    switch (ended) {
      case 'not-running':
        return { outcome: 'stopped', detail };
      case 'terminated':
        return { outcome: 'terminated', detail };
      case 'killed':
        return { outcome: 'killed', detail: [detail, `ignored SIGTERM for ${seconds(options.timings.stopKillMs)}`].filter(Boolean).join('; ') };
      case 'survived':
        return { outcome: 'failed', detail: `pid ${pid} survived SIGKILL` };
    }
  },
};
