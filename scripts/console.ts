/**
 * `bm console [--port N] [--bind ADDR] [--open] [--read-only]`: the team at a glance in a
 * browser, live. Serves a single page on 127.0.0.1 (another address only with --bind), prints its
 * URL with a random per-run token, and runs in the foreground until Ctrl-C. The page follows
 * state.json, topology.json, the daemon's files and the member logs as they change
 * (lib/console/view.ts) and reads the inbox and the board from GitHub (lib/console/github.ts);
 * its buttons call the same functions as `bm start`, `bm stop`, `bm answer|approve|reject`.
 * Server and security: lib/console/server.ts; the page: web/console/.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, isMain, runMain, teamOption } from '../lib/cli.ts';
import { isLoopback, startConsole } from '../lib/console/server.ts';
import { parsePort } from '../lib/daemon/run.ts';
import { info, out, warn } from '../lib/output.ts';
import { bmHome } from '../lib/paths.ts';
import { loadTeamFromFlag } from '../lib/team.ts';

const DEFAULT_PORT = 8485;
const DEFAULT_BIND = '127.0.0.1';

/**
 * Opens the page in the operator's browser through a 0600 redirect file, as Jupyter does: the
 * token must not appear in the browser's argv, where any local user could read it.
 */
function openBrowser(url: string, team: string): void {
  const dir = path.join(bmHome(), 'console');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${team}-open.html`);
  const html = `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${url}"><title>bm console</title><a href="${url}">Open the bm console</a>\n`;
  writeFileSync(file, html, { mode: 0o600 });
  const opener = process.env.BROWSER || (process.platform === 'darwin' ? 'open' : 'xdg-open');
  const child = spawn(opener, [file], { detached: true, stdio: 'ignore' });
  child.on('error', () => warn(`could not run '${opener}' to open a browser; open the URL above yourself.`));
  child.unref();
}

export const command = defineCommand({
  name: 'console',
  summary: 'Show the team live in a browser: members, daemon, inbox, board; start and stop',
  description: [
    'Serves a single-page console for the team on http://127.0.0.1:PORT and prints its URL, which',
    'carries a random token made for this run: the first visit trades it for a cookie and drops',
    'it from the address; any request without it gets 401 (scripts can send',
    '`Authorization: Bearer <token>`). The page updates itself when members start, stop, crash or',
    'write output, and when the daemon works; it shows each member\'s status, where it runs, its',
    'last output line and restarts, the daemon\'s counters and its recent journal, and for a team',
    'on GitHub the operator\'s inbox and the board\'s columns with their item counts.',
    '',
    'Buttons start and stop members or the whole team, follow a member\'s log, and answer,',
    'approve or reject inbox items (not with --read-only); each action is journaled with origin',
    '"console". Runs until Ctrl-C; no daemon needed. JSON: GET /api/status, /api/daemon and',
    '/api/inbox answer as `bm status --json`, `bm daemon status --json` and `bm inbox --json`.',
    '--bind listens on another address: anyone who can reach it and has the token controls the',
    'team.',
  ].join('\n'),
  options: {
    port: { type: 'string', value: 'PORT', description: `port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)` },
    bind: { type: 'string', value: 'ADDR', description: `address to listen on (default ${DEFAULT_BIND})` },
    open: { type: 'boolean', description: 'open the console in the default browser ($BROWSER, else xdg-open)' },
    'read-only': { type: 'boolean', description: 'show only: no start, stop or other actions' },
    team: teamOption,
  },
  examples: ['bm console', 'bm console --open', 'bm console --read-only --port 9000', 'bm console --bind 0.0.0.0 -t my-team'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const port = parsePort(cli.string('port'), DEFAULT_PORT);
    const bind = cli.string('bind') ?? DEFAULT_BIND;
    if (!isLoopback(bind)) warn(`listening on ${bind}: the console is reachable from other machines; the token is all that guards it, and it travels unencrypted.`);
    const served = await startConsole({ team, port, bind, readOnly: cli.flag('read-only'), onAction: info });
    info(`Console for team '${team.name}'${cli.flag('read-only') ? ' (read-only)' : ''} running; press Ctrl-C to stop it.`);
    out(served.url);
    if (cli.flag('open')) openBrowser(served.url, team.name);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        info('Stopping the console...');
        void served.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
});

if (isMain(import.meta.url, command)) void runMain(command);
