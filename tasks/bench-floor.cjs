/**
 * The floor under a bm command's start-up target: a bare script that makes the same reads (or
 * HTTP requests) as the command and prints the same table, with none of bm's code: no argument
 * parsing, no validation, no schema verdicts, no parse cache. The bench times it beside the
 * command (tasks/bench.ts), so a ratio target can be judged against the least any program on
 * this runtime could take.
 *
 *   node tasks/bench-floor.cjs members   the reads of `bm members list`   (BM_HOME)
 *   node tasks/bench-floor.cjs status    the reads of `bm status`, local  (BM_HOME)
 *   node tasks/bench-floor.cjs k8s       the three GETs of `bm status` on a cluster (KUBECONFIG,
 *                                        a plain-http server, as kube-sim's)
 *
 * CommonJS, as bm's own bundles are, so both skip Node's ES module loader alike.
 */
const fs = require('node:fs');

const read = (file) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** The default team's directory and name, from the operator config. */
function team() {
  const config = read(`${process.env.BM_HOME}/config.yml`) ?? '';
  return { dir: /^\s+path: (.+)$/m.exec(config)[1], name: /^\s+- name: (.+)$/m.exec(config)[1] };
}

/** Each hired member with its role, as `bm members list` finds them. */
function members(dir) {
  read(`${dir}/team/botminter.yml`);
  return fs.readdirSync(`${dir}/team/members`).filter((name) => !name.startsWith('.')).map((name) => {
    const role = /^role: (\S+)/m.exec(read(`${dir}/team/members/${name}/botminter.yml`) ?? '');
    return { name, role: role ? role[1] : name.split('-')[0] };
  });
}

function membersList() {
  const { dir, name } = team();
  const state = JSON.parse(read(`${process.env.BM_HOME}/state.json`) ?? '{"members":{}}');
  const rows = members(dir).map((m) => {
    const entry = state.members[`${name}/${m.name}`];
    const alive = entry && read(`/proc/${entry.pid}/stat`) !== undefined;
    return [m.name, m.role, alive ? 'running' : 'stopped'];
  });
  process.stdout.write(`${[['Member', 'Role', 'Status'], ...rows].map((r) => r.join('\t')).join('\n')}\n`);
}

function status() {
  const { dir, name } = team();
  const home = process.env.BM_HOME;
  read(`${dir}/topology.json`);
  const state = JSON.parse(read(`${home}/state.json`) ?? '{"members":{}}');
  const rows = members(dir).map((m) => {
    const log = `${home}/logs/${name}/${m.name}.log`;
    const workspace = `${dir}/${m.name}`;
    fs.existsSync(`${workspace}/.botminter`);
    const entry = state.members[`${name}/${m.name}`];
    if (!entry) return [m.name, m.role, 'stopped', '—', '—', '—', '—', '—'];
    const stat = read(`/proc/${entry.pid}/stat`) ?? '';
    const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    const lastOutput = fs.statSync(log, { throwIfNoEntry: false })?.mtime.toISOString() ?? '—';
    const eventsFile = read(`${workspace}/.ralph/current-events`)?.trim() ?? '.ralph/events.jsonl';
    const events = (read(`${workspace}/${eventsFile}`) ?? '').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
    read(`${workspace}/ralph.yml`);
    const issue = /#(\d+)/.exec(events.map((e) => String(e.payload)).join(' '));
    return [m.name, m.role, startTicks ? 'running' : 'crashed', issue ? `#${issue[1]}` : '—', events.at(-1)?.topic ?? '—', lastOutput, `pid ${entry.pid}`, entry.started_at];
  });
  read(`${home}/daemon/${name}/daemon.pid`);
  read(`${home}/daemon/${name}/daemon.json`);
  const root = fs.realpathSync(dir);
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (fs.readlinkSync(`/proc/${pid}/cwd`).startsWith(`${root}/`)) read(`/proc/${pid}/stat`);
    } catch {
      // Gone meanwhile.
    }
  }
  process.stdout.write(`Team: ${name}\n\n${rows.map((r) => r.join('\t')).join('\n')}\n`);
}

function k8s() {
  const http = require('node:http');
  const server = /server: (\S+)/.exec(read(process.env.KUBECONFIG) ?? '')[1];
  const agent = new http.Agent({ keepAlive: true });
  const selector = `labelSelector=${encodeURIComponent('app.kubernetes.io/managed-by=bm')}`;
  const metadataOnly = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
  const get = (path, accept) => new Promise((resolve, reject) => {
    http.get(`${server}${path}`, { agent, headers: { accept } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
  Promise.all([
    get(`/api/v1/pods?${selector}`, 'application/json'),
    get(`/api/v1/configmaps?${selector}`, metadataOnly),
    get(`/api/v1/secrets?${selector}`, metadataOnly),
  ]).then(([pods]) => {
    agent.destroy();
    process.stdout.write(`${pods.items.map((p) => `${p.metadata.name}\t${p.status?.phase}`).join('\n')}\n`);
  });
}

const modes = { members: membersList, status, k8s };
const mode = modes[process.argv[2]];
if (!mode) throw new Error(`usage: node tasks/bench-floor.cjs ${Object.keys(modes).join('|')}`);
mode();
