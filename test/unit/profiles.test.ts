/**
 * The built-in profiles are complete and their ralph configs would pass ralph's own validation.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { loadProfile, profileNames } from '../../lib/profiles.ts';
import { missingFromLayout, readLayout } from '../../lib/schema.ts';

test('both profiles ship, with the roles the issue names', () => {
  assert.equal(profileNames(), ['scrum', 'scrum-compact']);
  assert.equal(loadProfile('scrum').roles, ['architect', 'dev', 'po', 'qe', 'reviewer']);
  assert.equal(loadProfile('scrum-compact').roles, ['superman']);
});

for (const name of ['scrum', 'scrum-compact']) {
  test(`${name}: manifest, layout and board statuses are consistent`, () => {
    const profile = loadProfile(name);
    const m = profile.manifest;
    assert.is(m.schema_version, 'v2');
    assert.equal((m.roles ?? []).map((r) => r.name).sort(), profile.roles);
    const statuses = (m.statuses ?? []).map((s) => s.name);
    assert.ok(statuses.includes('done') && statuses.includes('error'), 'done and error statuses exist');
    for (const label of m.labels ?? []) assert.match(label.color, /^[0-9a-fA-F]{6}$/, `label ${label.name} colour`);
    for (const view of m.views ?? []) {
      for (const prefix of view.prefixes ?? []) assert.ok(statuses.some((s) => s.startsWith(`${prefix}:`)), `view ${view.name} prefix ${prefix} matches a status`);
    }
    const layout = readLayout(profile.dir, 'v2');
    const teamFiles = layout.team.files.filter((f) => !existsSync(path.join(profile.dir, f)));
    assert.equal(teamFiles, [], 'profile has the team files its layout requires');
    for (const role of profile.roles) {
      const missing = missingFromLayout(path.join(profile.dir, 'roles', role), { ...layout, team: { files: layout.member.files, dirs: layout.member.dirs } });
      assert.equal(missing, [], `role ${role} has the member files and dirs its layout requires`);
    }
    assert.equal(readLayout(profile.dir, 'v1').team.dirs.filter((d) => d === 'skills' || d === 'formations'), []);
  });

  test(`${name}: every role's ralph.yml passes ralph's validation rules`, () => {
    const profile = loadProfile(name);
    for (const role of profile.roles) {
      const file = path.join(profile.dir, 'roles', role, 'ralph.yml');
      const config = parse(readFileSync(file, 'utf8'));
      assert.not.ok('project' in config, `${role}: a top-level project: key is a ralph error`);
      assert.is(config.event_loop.persistent, true, `${role}: members started by bm start are persistent`);
      const seen = new Map<string, string>();
      const hats = Object.entries(config.hats as Record<string, { description?: string; triggers?: string[]; instructions?: string }>);
      assert.ok(hats.length >= 2, `${role}: a board scanner and at least one phase hat`);
      assert.ok(hats.some(([, hat]) => (hat.triggers ?? []).includes(config.event_loop.starting_event)), `${role}: a hat takes the starting event`);
      for (const [id, hat] of hats) {
        assert.ok(hat.description, `${role}/${id}: description is required`);
        assert.ok((hat.instructions ?? '').length > 200, `${role}/${id}: real instructions`);
        assert.ok(existsSync(path.join(profile.dir, 'roles', role, 'hats', id)), `${role}/${id}: hats/${id}/ exists`);
        for (const trigger of hat.triggers ?? []) {
          assert.not.ok(['task.start', 'task.resume'].includes(trigger), `${role}/${id}: ${trigger} is reserved`);
          assert.is(seen.get(trigger), undefined, `${role}: trigger ${trigger} maps to two hats`);
          seen.set(trigger, id);
        }
      }
      assert.ok((config.skills.dirs as string[]).some((d) => d.includes('{{project}}')), `${role}: project skills dir placeholder`);
    }
  });
}

test.run();
