/**
 * The repository stands alone (docs/spec.md, issue 27): a fresh clone of it, without the folders
 * it was developed beside, holds the whole contract and every file its tests read.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../support/stack-env.js';

/** Spelt in two parts so that this file does not name it itself. */
const OUTSIDE = ['..', 'shared'].join('/');

/** The files a clone holds: tracked ones, and new ones not ignored (about to be committed). */
function repositoryFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  return [...new Set(out.toString('utf8').split('\0').filter(Boolean))];
}

/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const readme = () => readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const spec = () => readFileSync(path.join(REPO_ROOT, 'docs', 'spec.md'), 'utf8');

describe('the repository stands alone', () => {
  it(`no file of the repository but package-lock.json refers to ${OUTSIDE}/`, () => {
    const files = repositoryFiles();
    assert.ok(files.includes('package.json') && files.includes('docs/spec.md'), 'git lists the repository, the contract among it');
    const needle = Buffer.from(OUTSIDE);
    const offenders = files.filter((file) => {
      if (file === 'package-lock.json') return false;
      const full = path.join(REPO_ROOT, file);
      if (!existsSync(full) || !statSync(full).isFile()) return false;
      return readFileSync(full).includes(needle);
    });
    assert.deepEqual(offenders, [], `these files refer to ${OUTSIDE}/, which a clone of the repository alone does not have`);
  });

  it('holds the contract, docs/spec.md, with its twelve sections', () => {
    const numbers = [...spec().matchAll(/^## (\d+)\. /gm)].map((m) => Number(m[1]));
    assert.deepEqual(numbers, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('the README names the contract by docs/spec.md, and each of its links into it lands on a heading', () => {
    const text = readme();
    assert.doesNotMatch(text, /(?<!docs\/)SPEC\.md/, 'no SPEC.md outside the repository');
    const anchors = new Set([...spec().matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
    const links = [...text.matchAll(/\]\(docs\/spec\.md(#[^)]*)?\)/g)].map((m) => m[1]);
    assert.ok(links.filter(Boolean).length >= 10, 'the behaviour map points into the sections');
    for (const link of links) {
      if (link) assert.ok(anchors.has(link.slice(1)), `README links to docs/spec.md${link}, which is no heading of it`);
    }
  });
});
