// The READMEs as a newcomer runs them: every `npm run gradwire -- COMMAND …` in a ```sh block
// names a real command whose --help exits 0 and lists each flag used; every file a command
// names exists in a clone (or an earlier line of the same document makes it); README.md stays short
// (≤ 220 lines), holds no hand-copied flag table and calls the CLI as a clone must; every
// relative link and anchor resolves. Only --help runs here: no training.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

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
}

/** the ```sh blocks of a markdown file (fenced with ``` or indented fences inside lists) */
function shBlocks(doc: string, md: string): Block[] {
  const out: Block[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```sh\s*$/.exec(lines[i]!);
    if (!open) continue;
    const body: string[] = [];
    const start = i + 1;
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!.slice(open[1]!.length));
    out.push({ doc, line: start + 1, text: body.join('\n') });
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
const REPO_PATH = /^(deploy|shared|coordinator|worker|test|bin)\//;

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

const helpCache = new Map<string, { status: number | null; stdout: string; stderr: string }>();
/** `npm run gradwire -- ...args` (the package.json script, wherever the entry point lives) */
function npmGradwire(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const key = args.join(' ');
  let r = helpCache.get(key);
  if (!r) {
    const p = spawnSync('npm', ['run', '-s', 'gradwire', '--', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    r = { status: p.status, stdout: p.stdout, stderr: p.stderr };
    helpCache.set(key, r);
  }
  return r;
}

/** the commands `gradwire --help` lists */
function listedCommands(): string[] {
  const help = npmGradwire(['--help']);
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

  it('every `npm run gradwire -- COMMAND` is a command of `gradwire --help`, its --help exits 0 and lists every flag used', () => {
    const known = listedCommands();
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
        const help = npmGradwire([args[0]!, '--help']);
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
