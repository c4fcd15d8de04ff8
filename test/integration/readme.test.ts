// The READMEs as a newcomer runs them: every `npm run gradwire -- COMMAND …` in a ```sh block
// names a real command whose --help exits 0 and lists each flag used; every file a command
// names exists in a clone (or an earlier line of the same document makes it); README.md stays short
// (≤ 220 lines), holds no hand-copied flag table and calls the CLI as a clone must; every
// relative link and anchor resolves.
//
// Runnable blocks: a ```sh block of README.md right after a line `<!-- runnable -->` is RUN as
// written, with bash -e, the blocks in document order in one sandbox folder (what one block
// writes, the next sees): the clone's package.json, its examples/ copied, node_modules, bin,
// coordinator, shared, worker and deploy linked — so `npm run gradwire -- …` is the clone's
// script, and the outputs (runs/, data/) stay out of the working tree. A runnable block may
// only train, list and read on this machine: the test refuses one whose commands are not
// `npm run gradwire`, grep, cat, ls or mkdir, or that listens on or connects to anything but
// loopback. What a reader is told to bring is put where they are told to put it: data/mnist/
// gets small synthetic IDX files (400 digits) in MNIST's file names. Then the outputs are
// checked against what the README says: the three modes wrote one weightsSha256, `runs`
// lists every run the blocks made, the IDX run read the 400 digits. The blocks take ~30–50 s
// on the 2-core development machine.
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type CliResult, gradwire } from '../helpers/cli.js';

const ROOT = resolve(import.meta.dirname, '../..');
const README = 'README.md';
/** the docs whose shell blocks and links are checked (deployment ones: file paths only, no cluster) */
const DOCS = [
  README,
  'deploy/README.md',
  'shared/CONFIG.md',
  'shared/sweep/README.md',
  'coordinator/WEB.md',
  'test/bench/README.md',
];
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const read = (f: string): string => readFileSync(join(ROOT, f), 'utf8');

// ---- shell blocks ----

interface Block {
  doc: string;
  line: number;
  text: string;
  /** preceded by a line `<!-- runnable -->` (blank lines between allowed) */
  runnable?: boolean;
}

const RUNNABLE = /^\s*<!--\s*runnable\s*-->\s*$/;

/** the ```sh blocks of a markdown file (fenced with ``` or indented fences inside lists) */
function shBlocks(doc: string, md: string): Block[] {
  const out: Block[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```sh\s*$/.exec(lines[i]!);
    if (!open) continue;
    const body: string[] = [];
    const start = i + 1;
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const runnable = before >= 0 && RUNNABLE.test(lines[before]!);
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!.slice(open[1]!.length));
    out.push({ doc, line: start + 1, text: body.join('\n'), runnable });
  }
  return out;
}

const OPERATORS = new Set(['&&', '||', ';', '|', '&']);

/** shell words of one logical line: quotes removed, operators as their own words, comments dropped */
function words(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      cur += line.slice(i + 1, end < 0 ? line.length : end);
      has = true;
      i = end < 0 ? line.length : end;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      has = true;
    } else if (c === '#' && !has) {
      break;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else if ('&|;'.includes(c)) {
      if (has) out.push(cur);
      const two = line.slice(i, i + 2);
      const op = two === '&&' || two === '||' ? two : c;
      out.push(op);
      i += op.length - 1;
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

interface Command {
  block: Block;
  words: string[];
  source: string;
}

/** a block's simple commands, in order; heredoc bodies skipped; `cat > F <<EOF` and other
 *  writers recorded by `created` as the commands are read */
function commands(block: Block): Command[] {
  const out: Command[] = [];
  const lines = block.text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let logical = lines[i]!;
    while (logical.endsWith('\\') && i + 1 < lines.length) logical = `${logical.slice(0, -1)} ${lines[++i]!}`;
    const heredoc = /<<-?\s*'?"?(\w+)'?"?/.exec(logical);
    if (heredoc)
      while (i + 1 < lines.length && lines[++i]!.trim() !== heredoc[1]) {
        /* the file's text */
      }
    let cur: string[] = [];
    for (const w of words(logical.replace(/<<-?\s*'?"?\w+'?"?/, ''))) {
      if (OPERATORS.has(w)) {
        if (cur.length > 0) out.push({ block, words: cur, source: logical.trim() });
        cur = [];
      } else cur.push(w);
    }
    if (cur.length > 0) out.push({ block, words: cur, source: logical.trim() });
  }
  return out;
}

/** the command's words after leading VAR=value assignments */
const assignments = (ws: string[]): { env: Record<string, string>; rest: string[] } => {
  const env: Record<string, string> = {};
  let k = 0;
  for (; k < ws.length && /^[A-Z_][A-Z0-9_]*=/.test(ws[k]!); k++) {
    const eq = ws[k]!.indexOf('=');
    env[ws[k]!.slice(0, eq)] = ws[k]!.slice(eq + 1);
  }
  return { env, rest: ws.slice(k) };
};

/** the args after `npm run gradwire --`, or null */
function gradwireArgs(ws: string[]): string[] | null {
  const { rest } = assignments(ws);
  if (rest[0] !== 'npm' || rest[1] !== 'run' || rest[2] !== 'gradwire') return null;
  return rest[3] === '--' ? rest.slice(4) : rest.slice(3);
}

/** flags whose value is a file that must exist (or be made earlier in the block) */
const FILE_FLAGS = new Set([
  '--config',
  '--sweep',
  '--token-file',
  '--tls-cert',
  '--tls-key',
  '--tls-ca',
  '--status-file',
  '--cert',
  '--key',
  '--cacert',
]);
const FILE_ENV = new Set([
  'GRADWIRE_CONFIG',
  'GRADWIRE_SWEEP',
  'GRADWIRE_TOKEN_FILE',
  'GRADWIRE_TLS_CERT',
  'GRADWIRE_TLS_KEY',
  'GRADWIRE_TLS_CA',
]);
/** flags whose value a command writes */
const WRITES = new Set(['>', '>>', '-keyout', '-out', '--out']);
/** words that name a path inside the repository */
const REPO_PATH = /^(deploy|shared|coordinator|worker|test|bin|examples)\//;

/** what a command makes: redirect targets, openssl's -keyout/-out, --out folders, scp's target */
function made(ws: string[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < ws.length; k++) {
    const w = ws[k]!;
    if (WRITES.has(w) && ws[k + 1]) out.push(ws[k + 1]!);
    else if (/^>>?[^>]/.test(w)) out.push(w.replace(/^>+/, ''));
  }
  const { rest } = assignments(ws);
  if (rest[0] === 'scp') out.push(rest[rest.length - 1]!);
  return out;
}

/** the files a command reads: file-flag values (also --flag=value), file env values, repo paths */
function reads(ws: string[]): string[] {
  const { env, rest } = assignments(ws);
  const out: string[] = Object.entries(env)
    .filter(([k]) => FILE_ENV.has(k))
    .map(([, v]) => v);
  for (let k = 0; k < rest.length; k++) {
    const w = rest[k]!;
    const eq = /^(--[a-z-]+)=(.*)$/.exec(w);
    if (eq && FILE_FLAGS.has(eq[1]!)) out.push(eq[2]!);
    else if (FILE_FLAGS.has(w) && rest[k + 1]) out.push(rest[k + 1]!);
    else if (REPO_PATH.test(w) && !WRITES.has(rest[k - 1] ?? '')) out.push(w);
  }
  // a remote, a variable or an absolute path (inside a container) is not the clone's business
  return out.filter((p) => !/[$~:]/.test(p) && !p.startsWith('/'));
}

// ---- the CLI's own help ----

const helpCache = new Map<string, CliResult>();
/** `gradwire ...args`, compiled (test/helpers/cli.ts: a second each, where `npm run` through tsx
 *  takes several); the runnable blocks below run `npm run gradwire -- …` itself */
async function npmGradwire(args: string[]): Promise<CliResult> {
  const key = args.join(' ');
  let r = helpCache.get(key);
  if (!r) {
    r = await gradwire(args, { timeoutMs: 60_000 });
    helpCache.set(key, r);
  }
  return r;
}

/** the commands `gradwire --help` lists */
async function listedCommands(): Promise<string[]> {
  const help = await npmGradwire(['--help']);
  expect(help.status, help.stderr).toBe(0);
  const section = /^Commands:\n([\s\S]*?)\n\n/m.exec(help.stdout)?.[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)\s/gm)].map((m) => m[1]!);
}

// ---- links ----

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens */
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[`*_[\]()]/g, '')
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');

function anchors(md: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of md.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) {
      const s = slug(h[1]!);
      const n = seen.get(s) ?? 0;
      out.add(n === 0 ? s : `${s}-${n}`);
      seen.set(s, n + 1);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1]!);
  }
  return out;
}

/** relative links of a markdown file (code spans and fenced blocks excluded) */
function links(md: string): string[] {
  const prose = md.replace(/^\s*```[\s\S]*?^\s*```/gm, '').replace(/`[^`\n]*`/g, (m) => m.replace(/\]\(/g, ']_('));
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((href) => !/^[a-z][a-z0-9+.-]*:/i.test(href));
}

// ---- the tests ----

describe('README.md', () => {
  const md = read(README);

  it('is read in five minutes: at most 220 lines', () => {
    expect(md.split('\n').length).toBeLessThanOrEqual(220);
  });

  it('shows the two commands, and points to the CLI help for the flags instead of copying them', () => {
    expect(md).toMatch(/^npm ci && npm start\b/m);
    expect(md).toMatch(/^npm test\b/m);
    expect(md).toContain('npm run gradwire -- --help');
    // a flag table (| `--flag` | …) would be a second copy of --help
    expect(md.split('\n').filter((l) => /^\|\s*`-/.test(l))).toEqual([]);
  });

  it('calls the CLI as a clone can: `npm run gradwire --`, never a bare `gradwire` in a shell block', () => {
    for (const doc of [README, 'shared/CONFIG.md', 'shared/sweep/README.md', 'coordinator/WEB.md']) {
      for (const block of shBlocks(doc, read(doc))) {
        for (const c of commands(block))
          expect(assignments(c.words).rest[0], `${doc}:${block.line}: ${c.source}`).not.toBe('gradwire');
      }
    }
  });

  it('names the image by the package version', () => {
    for (const doc of [README, 'deploy/README.md']) {
      for (const m of read(doc).matchAll(/\bgradwire:(\d[\w.-]*)/g)) expect(m[1], doc).toBe(VERSION);
    }
  });
});

describe('the shell blocks of the READMEs', () => {
  const blocks = DOCS.flatMap((doc) => shBlocks(doc, read(doc)));

  it('are found', () => {
    expect(blocks.filter((b) => b.doc === README).length).toBeGreaterThanOrEqual(5);
    expect(blocks.filter((b) => b.doc === 'deploy/README.md').length).toBeGreaterThanOrEqual(4);
  });

  it('every `npm run gradwire -- COMMAND` is a command of `gradwire --help`, its --help exits 0 and lists every flag used', async () => {
    const known = await listedCommands();
    expect(known).toEqual(
      expect.arrayContaining(['train', 'coordinator', 'worker', 'sweep', 'runs', 'report', 'health']),
    );
    let checked = 0;
    for (const block of blocks) {
      for (const c of commands(block)) {
        const args = gradwireArgs(c.words);
        if (!args) continue;
        const where = `${block.doc}:${block.line}: ${c.source}`;
        checked++;
        if (args[0] === '--help') continue; // the top-level help, run above
        expect(known, where).toContain(args[0]);
        const help = await npmGradwire([args[0]!, '--help']);
        expect(help.status, `${where}\n${help.stderr}`).toBe(0);
        for (const flag of args
          .slice(1)
          .filter((a) => a.startsWith('-'))
          .map((a) => a.replace(/=.*$/, ''))) {
          const listed = new RegExp(`(^|[\\s,[(|])${flag}(?![\\w-])`, 'm').test(help.stdout);
          expect(listed, `${where}: ${flag} is not in '${args[0]} --help'`).toBe(true);
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });

  it('every file a command reads exists in the repository, or an earlier line of the same document makes it', () => {
    // a document is followed from the top: the token its first block makes serves the later ones
    let checked = 0;
    const madeIn = new Map<string, Set<string>>(DOCS.map((d) => [d, new Set<string>()]));
    for (const block of blocks) {
      const madeHere = madeIn.get(block.doc)!;
      for (const c of commands(block)) {
        for (const f of reads(c.words)) {
          const file = normalize(f).replace(/\/$/, '');
          const byBlock = [...madeHere].some((m) => file === m || file.startsWith(`${m}/`));
          expect(
            byBlock || existsSync(join(ROOT, file)),
            `${block.doc}:${block.line}: ${c.source}: ${f} does not exist`,
          ).toBe(true);
          checked++;
        }
        for (const f of made(c.words)) madeHere.add(normalize(f).replace(/\/$/, ''));
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });

  it('the test reads what a reader would: a heredoc makes its file, --out makes its folder, a repo path is checked', () => {
    const block: Block = {
      doc: 'example',
      line: 1,
      text: "cat > s.yaml <<'EOF'\nnot: a command\nEOF\nnpm run gradwire -- sweep --config s.yaml --out o # c\ngrep x o/summary.json deploy/nope.yaml",
    };
    const cs = commands(block);
    expect(cs.map((c) => c.words[0])).toEqual(['cat', 'npm', 'grep']);
    expect(made(cs[0]!.words)).toEqual(['s.yaml']);
    expect(reads(cs[1]!.words)).toEqual(['s.yaml']);
    expect(made(cs[1]!.words)).toEqual(['o']);
    expect(reads(cs[2]!.words)).toEqual(['deploy/nope.yaml']);
    expect(
      reads(words('GRADWIRE_CONFIG=a.yaml npm run gradwire -- coordinator --tls-ca "c d.pem" --cert=e.pem')),
    ).toEqual(['a.yaml', 'c d.pem', 'e.pem']);
  });
});

describe('the links of the READMEs', () => {
  it('every relative link points to a file or folder that exists, and every anchor to a heading there', () => {
    let checked = 0;
    for (const doc of DOCS) {
      for (const href of links(read(doc))) {
        const [path, anchor] = href.split('#') as [string, string | undefined];
        const target = path === '' ? doc : relative(ROOT, resolve(ROOT, dirname(doc), decodeURI(path)));
        const where = `${doc}: (${href})`;
        expect(existsSync(join(ROOT, target)), where).toBe(true);
        if (anchor !== undefined) {
          expect(statSync(join(ROOT, target)).isFile(), where).toBe(true);
          expect([...anchors(read(target))], where).toContain(anchor);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });

  it('README.md links to every reference that moved out of it', () => {
    const hrefs = links(read(README)).map((h) => h.split('#')[0]);
    for (const ref of [
      'shared/CONFIG.md',
      'deploy/README.md',
      'deploy/k8s/README.md',
      'shared/sweep/README.md',
      'coordinator/WEB.md',
      'test/bench/README.md',
    ]) {
      expect(hrefs, ref).toContain(ref);
    }
  });
});

// ---- the runnable blocks, run ----

/** commands a runnable block may use: nothing that installs, reaches the network or a cluster */
const RUNNABLE_COMMANDS = new Set(['npm', 'grep', 'cat', 'ls', 'mkdir']);
const LOOPBACK = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;

/** why a runnable block may not run here, or null */
function refusal(c: Command): string | null {
  const { rest } = assignments(c.words);
  if (!RUNNABLE_COMMANDS.has(rest[0]!)) return `${rest[0]} is not one of ${[...RUNNABLE_COMMANDS].join(', ')}`;
  if (rest[0] === 'npm' && !gradwireArgs(c.words)) return 'the only npm command is `npm run gradwire -- …`';
  for (let k = 0; k < rest.length; k++) {
    const [flag, inline] = rest[k]!.split('=', 2) as [string, string | undefined];
    if (flag !== '--listen' && flag !== '--connect') continue;
    const target = (inline ?? rest[k + 1] ?? '').replace(/^wss?:\/\//, '').replace(/\/.*$/, '');
    if (!LOOPBACK.test(target)) return `${flag} ${target} is not loopback`;
  }
  return null;
}

/** an IDX file of unsigned bytes: 0 0 8 ndims, the sizes as big-endian uint32, the data */
function idx(dims: number[], data: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  const v = new DataView(head.buffer);
  head.set([0, 0, 8, dims.length]);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  return Buffer.concat([head, data]);
}

/** the sandbox a clone's reader works in: package.json and examples/ copied, the code linked */
function sandbox(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gradwire-readme-'));
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  cpSync(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
  for (const f of ['node_modules', 'bin', 'coordinator', 'shared', 'worker', 'deploy', 'tsconfig.json'])
    symlinkSync(join(ROOT, f), join(dir, f));
  return dir;
}

const SYNTHETIC_DIGITS = 400;

/** `bash -e -o pipefail -c TEXT`, without holding up the test runner's event loop */
function bash(
  text: string,
  o: { cwd: string; env: Record<string, string>; timeoutMs: number },
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn('bash', ['-e', '-o', 'pipefail', '-c', text], { cwd: o.cwd, env: o.env, detached: true });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // the block and everything it started (a group of its own): a hung block fails, it leaves nothing behind
    const timer = setTimeout(() => process.kill(-p.pid!, 'SIGKILL'), o.timeoutMs);
    p.on('close', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    });
  });
}

describe('the runnable blocks of README.md', () => {
  const runnable = shBlocks(README, read(README)).filter((b) => b.runnable);

  it('are marked: the help, the three training modes, full MNIST from IDX files, the list of runs', () => {
    expect(runnable.length).toBeGreaterThanOrEqual(4);
    const text = runnable.map((b) => b.text).join('\n');
    expect(text).toContain('npm run gradwire -- --help');
    expect(text).toMatch(/train --workers 2 /);
    expect(text).toContain('examples/mnist-idx.yaml');
    expect(text).toMatch(/^npm run gradwire -- runs\b/m);
  });

  it('use only commands that stay on this machine (the test refuses the others)', () => {
    for (const b of runnable)
      for (const c of commands(b)) expect(refusal(c), `README.md:${b.line}: ${c.source}`).toBeNull();
    // and the guard itself refuses what must not run here
    const refused = (line: string): string | null => refusal(commands({ doc: 'x', line: 1, text: line })[0]!);
    expect(refused('npm ci')).not.toBeNull();
    expect(refused('curl http://example.com')).not.toBeNull();
    expect(refused('npm run gradwire -- coordinator --listen 0.0.0.0:7070')).toMatch(/not loopback/);
    expect(refused('npm run gradwire -- worker --connect ws://coord.example:7070')).toMatch(/not loopback/);
    expect(refused('npm run gradwire -- worker --connect ws://127.0.0.1:7070')).toBeNull();
  });

  it('run as written, in order, and do what the README says', { timeout: 300_000 }, async () => {
    const dir = sandbox();
    // what the reader brings for examples/mnist-idx.yaml: MNIST's file names, 400 synthetic digits
    mkdirSync(join(dir, 'data/mnist'), { recursive: true });
    const pixels = Uint8Array.from({ length: SYNTHETIC_DIGITS * 784 }, (_, i) => (i * 7919) % 251);
    writeFileSync(
      join(dir, 'data/mnist/train-images-idx3-ubyte.gz'),
      gzipSync(idx([SYNTHETIC_DIGITS, 28, 28], pixels)),
    );
    writeFileSync(
      join(dir, 'data/mnist/train-labels-idx1-ubyte.gz'),
      gzipSync(
        idx(
          [SYNTHETIC_DIGITS],
          Uint8Array.from({ length: SYNTHETIC_DIGITS }, (_, i) => i % 10),
        ),
      ),
    );
    const env: Record<string, string> = { ...process.env, FORCE_COLOR: '0', HOME: dir } as Record<string, string>;
    // as a reader's shell has it: the suite's one-thread setting (vitest.config.ts) is not the README's
    delete env.GRADWIRE_THREADS;
    const outputs: string[] = [];
    const seconds: string[] = [];
    for (const b of runnable) {
      const t0 = Date.now();
      const r = await bash(b.text, { cwd: dir, env, timeoutMs: 240_000 });
      seconds.push(`README.md:${b.line} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      expect(r.status, `README.md:${b.line} exited ${r.status}\n${b.text}\n${r.stdout}\n${r.stderr}`).toBe(0);
      outputs.push(r.stdout);
    }
    console.log(`runnable README blocks: ${seconds.join(', ')}`);

    type Summary = { runId: string; weightsSha256: string; mode: string; dataset: { name: string; samples: number } };
    const summary = (out: string): Summary =>
      JSON.parse(readFileSync(join(dir, out, 'summary.json'), 'utf8')) as Summary;
    // the three modes: one weightsSha256, as the in-process reference wrote it
    const ref = summary('runs/ref');
    expect(ref.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(summary('runs/cores').weightsSha256).toBe(ref.weightsSha256);
    expect(summary('runs/two').weightsSha256).toBe(ref.weightsSha256);
    // and the grep the README shows printed the same hash three times
    const all = outputs.join('\n');
    expect(all.split(ref.weightsSha256).length - 1).toBeGreaterThanOrEqual(3);
    expect(ref.dataset).toMatchObject({ name: 'MNIST, 10,000-digit subset', samples: 10000 });
    // the IDX example read the files the reader brought
    expect(summary('runs/mnist-full').dataset.samples).toBe(SYNTHETIC_DIGITS);
    // `runs` lists every run the blocks made
    const listed = outputs[outputs.length - 1]!;
    for (const out of ['runs/cores', 'runs/ref', 'runs/two', 'runs/iris', 'runs/mnist-full'])
      expect(listed, out).toContain(summary(out).runId);
    rmSync(dir, { recursive: true, force: true });
  });
});
