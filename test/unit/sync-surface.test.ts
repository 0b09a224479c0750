/**
 * lib/sync/surface.ts: rendering a member's ralph.yml for one workspace, and the exclude block.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { excludeBlock, renderRalphYml } from '../../lib/sync/surface.ts';

const SOURCE = [
  'skills:',
  '  enabled: true',
  '  dirs:',
  '    - .botminter/coding-agent/skills',
  '    - .botminter/projects/{{project}}/coding-agent/skills',
  '    - .botminter/members/{{member}}/coding-agent/skills',
  'note: run by {{member}}',
  '',
].join('\n');

test('placeholders are substituted for a project workspace', () => {
  const text = renderRalphYml(SOURCE, 'dev-alice', 'widget');
  assert.ok(text.includes('    - .botminter/projects/widget/coding-agent/skills\n'));
  assert.ok(text.includes('    - .botminter/members/dev-alice/coding-agent/skills\n'));
  assert.ok(text.includes('note: run by dev-alice\n'));
  assert.not.ok(text.includes('{{'));
});

test('without projects the project skill dir is dropped, not left half-empty', () => {
  const text = renderRalphYml(SOURCE, 'dev-alice', null);
  assert.not.ok(text.includes('projects/'));
  assert.is(text.split('\n').filter((l) => l.trim().startsWith('- ')).length, 2);
});

test('the exclude block covers every file bm adds to a workspace', () => {
  const block = excludeBlock().split('\n');
  for (const pattern of ['/.botminter/', '/PROMPT.md', '/CLAUDE.md', '/ralph.yml', '/ralph.yml.edited*', '/.claude/', '/.ralph/']) {
    assert.ok(block.includes(pattern), `exclude lacks ${pattern}`);
  }
});

test.run();
