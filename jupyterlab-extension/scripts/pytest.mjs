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
const missing = existsSync(python) ? spawnSync(python, ['-c', `import importlib.util as u; print(" ".join(m for m in ${JSON.stringify(needs)} if not u.find_spec(m)))`], { encoding: 'utf8' }) : null;
if (!missing || missing.status !== 0 || missing.stdout.trim()) {
  const why = !missing ? `no ${shown}` : missing.status !== 0 ? `${shown} does not run` : `${shown} lacks ${missing.stdout.trim()}`;
  console.log(`pytest (kernel side) SKIPPED: ${why}. To run it: npm start once (creates .venv), then .venv/bin/pip install pytest hypothesis numpy; or set CELLMARK_PYTHON to a Python that has them.`);
  process.exit(0);
}
const result = spawnSync(python, ['-m', 'pytest', 'jupyterlab-extension/tests', '-q', '-p', 'no:cacheprovider'], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
