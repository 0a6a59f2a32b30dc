#!/usr/bin/env node
// .ci/run's check that `npm install` left package-lock.json as committed,
// apart from one difference the registry decides, not the project: the
// optional binaries of other platforms (@swc/core-darwin-arm64, ...). The
// registry here has served them on some days and not on others; npm lists
// them in the lock when it can fetch their metadata and leaves them out when
// it cannot. Any other difference (a version, a dependency, an integrity, a
// package of this platform) is a lock out of step with package.json: exit 1.
//
//   node scripts/check-lock.mjs COMMITTED_LOCK CURRENT_LOCK

import { readFileSync } from 'node:fs';

const [committedPath, currentPath] = process.argv.slice(2);
if (committedPath === undefined || currentPath === undefined) {
  console.error('usage: check-lock.mjs COMMITTED_LOCK CURRENT_LOCK');
  process.exit(64);
}
const packages = (path) => JSON.parse(readFileSync(path, 'utf8')).packages ?? {};
const committed = packages(committedPath);
const current = packages(currentPath);

/** An optional package that npm would not install on this machine. */
function foreign(entry) {
  if (entry?.optional !== true) return false;
  const matches = (list, value) =>
    !Array.isArray(list) ||
    (list.some((v) => !v.startsWith('!')) ? list.includes(value) : !list.includes(`!${value}`));
  return !matches(entry.os, process.platform) || !matches(entry.cpu, process.arch);
}

const problems = [];
for (const name of new Set([...Object.keys(committed), ...Object.keys(current)])) {
  const before = committed[name];
  const after = current[name];
  if (JSON.stringify(before) === JSON.stringify(after)) continue;
  if (before === undefined && foreign(after)) continue;
  if (after === undefined && foreign(before)) continue;
  problems.push(
    before === undefined
      ? `added ${name}`
      : after === undefined
        ? `removed ${name}`
        : `changed ${name}`,
  );
}
if (problems.length > 0) {
  console.error(`package-lock.json is out of step with package.json:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
