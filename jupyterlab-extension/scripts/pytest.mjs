// The kernel side's pytest suite, as part of `npm test`, when a Python with its test
// dependencies is there: CELLMARK_PYTHON, else the repository's .venv (the one `npm start` and
// .ci/run create). Without one it says so, and how to get one, instead of failing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const python = process.env.CELLMARK_PYTHON ?? path.join(root, '.venv/bin/python');
// what the tests import beyond the standard library (IPython, ipykernel, psutil: the kernel side)
const needs = ['pytest', 'hypothesis', 'numpy', 'IPython', 'ipykernel', 'psutil'];

const shown = path.relative(root, python).startsWith('..') ? python : path.relative(root, python);

/** Why this Python cannot run the suite, or null when it can. */
function unusable() {
  if (!existsSync(python)) return `no ${shown}`;
  const probe = `import importlib.util as u; print(" ".join(m for m in ${JSON.stringify(needs)} if not u.find_spec(m)))`;
  const missing = spawnSync(python, ['-c', probe], { encoding: 'utf8' });
  if (missing.status !== 0) return `${shown} does not run`;
  return missing.stdout.trim() ? `${shown} lacks ${missing.stdout.trim()}` : null;
}

const why = unusable();
if (why) {
  console.log(
    `pytest (kernel side) SKIPPED: ${why}. To run it: npm start once (creates .venv), then .venv/bin/pip install pytest hypothesis numpy; or set CELLMARK_PYTHON to a Python that has them.`,
  );
  process.exit(0);
}
const result = spawnSync(python, ['-m', 'pytest', 'jupyterlab-extension/tests', '-q', '-p', 'no:cacheprovider'], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
