// Every file under test/transcripts is one dialog run against the server
// machine in memory; the file name is the test name.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTranscript } from './support/transcript.js';

const dir = join(import.meta.dirname, 'transcripts');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.smtp'))
  .sort();

describe('server transcripts', () => {
  it('has transcripts', () => expect(files.length).toBeGreaterThan(40));
  for (const file of files) {
    const source = readFileSync(join(dir, file), 'utf8');
    it(file.replace(/\.smtp$/, ''), () => runTranscript(source, file));
    it(`${file.replace(/\.smtp$/, '')} (one octet per read)`, () =>
      runTranscript(source, file, 'bytes'));
  }
});
