// Where the run ran, as the kernel side recorded it: Python, packages (searchable), git
// (commit, branch, dirty with its diff), host, GPUs or why none were found.
'use client';
import { type ReactNode, useMemo, useState } from 'react';
import { type Environment, filterPackages, readEnvironment } from '@/lib/environment.ts';
import { formatBytes } from '@/lib/outputs.ts';
import type { Outputs } from '@/lib/trpc.ts';
import './run-panels.css';

type RunDetail = Outputs['runs']['get'];

function Facts({ items }: { items: Array<[string, ReactNode]> }) {
  const shown = items.filter(([, v]) => v !== null && v !== undefined && v !== '');
  return (
    <dl className="facts">
      {shown.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function ProbeError({ env, part }: { env: Environment; part: string }) {
  const error = env.errors[part];
  return error ? <p className="error-text small">could not read: {error}</p> : null;
}

function Packages({ env }: { env: Environment }) {
  const [query, setQuery] = useState('');
  const shown = useMemo(() => filterPackages(env.packages, query), [env.packages, query]);
  if (!env.packages.length) return <p className="muted small">none recorded</p>;
  return (
    <div className="packages">
      <input
        className="input input-sm"
        type="search"
        placeholder={`Search ${env.packages.length} ${env.packages.length === 1 ? 'package' : 'packages'}`}
        aria-label="Search packages"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        data-testid="package-search"
      />
      <ul className="package-list" data-testid="package-list">
        {shown.map((p) => (
          <li key={p.name} data-testid="package">
            <span>{p.name}</span>
            <span className="mono muted">{p.version ?? ''}</span>
          </li>
        ))}
        {shown.length === 0 ? <li className="muted">no package matches “{query}”</li> : null}
      </ul>
    </div>
  );
}

function Git({ git }: { git: NonNullable<Environment['git']> }) {
  return (
    <>
      <Facts
        items={[
          [
            'Commit',
            git.commit ? (
              <code className="mono" title={git.commit}>
                {git.commit.slice(0, 12)}
              </code>
            ) : (
              <span className="muted">no commits</span>
            ),
          ],
          ['Branch', git.branch ?? <span className="muted">detached</span>],
          [
            'State',
            git.dirty === null ? null : git.dirty ? (
              <span className="badge badge-aborted badge-plain" data-testid="git-dirty">
                uncommitted changes
              </span>
            ) : (
              <span className="badge badge-ok badge-plain">clean</span>
            ),
          ],
          ['Remote', git.remote ? <span className="mono">{git.remote}</span> : null],
          ['Root', git.root ? <span className="mono">{git.root}</span> : null],
        ]}
      />
      {git.diff ? (
        <details className="disclosure" data-testid="git-diff">
          <summary>Diff against HEAD ({formatBytes(new TextEncoder().encode(git.diff).length)})</summary>
          <pre className="code diff">{git.diff}</pre>
        </details>
      ) : null}
      {git.untracked.length ? (
        <details className="disclosure">
          <summary>{git.untracked.length} untracked files</summary>
          <pre className="code">{git.untracked.join('\n')}</pre>
        </details>
      ) : null}
    </>
  );
}

export function EnvironmentPanel({ data }: { data: RunDetail }) {
  const env = useMemo(() => readEnvironment(data.run.environment), [data.run.environment]);
  return (
    <section className="card panel" data-testid="environment" aria-labelledby="env-title">
      <div className="panel-head">
        <h2 id="env-title">Environment</h2>
      </div>
      {!env ? (
        <p className="muted panel-body">
          {data.capture.kernel
            ? 'Not received yet: the kernel side sends it shortly after the run starts.'
            : 'Not captured: the kernel side was not active for this run.'}
        </p>
      ) : (
        <div className="panel-body env">
          <div className="env-part" data-testid="env-python">
            <h3>Python</h3>
            <ProbeError env={env} part="python" />
            {env.python ? (
              <Facts
                items={[
                  ['Version', [env.python.implementation, env.python.version].filter(Boolean).join(' ')],
                  ['Executable', env.python.executable ? <span className="mono">{env.python.executable}</span> : null],
                ]}
              />
            ) : null}
          </div>
          <div className="env-part" data-testid="env-host">
            <h3>Host</h3>
            <ProbeError env={env} part="host" />
            {env.host ? (
              <Facts
                items={[
                  ['Hostname', env.host.hostname],
                  ['OS', env.host.os ?? env.host.platform],
                  ['CPUs', env.host.cpuCount],
                  ['RAM', env.host.memoryBytes === null ? null : formatBytes(env.host.memoryBytes)],
                ]}
              />
            ) : null}
          </div>
          <div className="env-part" data-testid="env-gpus">
            <h3>GPUs</h3>
            {env.gpus.length ? (
              <ul className="gpu-list">
                {env.gpus.map((gpu, i) => (
                  <li key={gpu.uuid ?? i} data-testid="gpu">
                    <strong>
                      {gpu.index !== null ? `${gpu.index}: ` : ''}
                      {gpu.name ?? 'unknown GPU'}
                    </strong>
                    <span className="muted">
                      {[
                        gpu.memoryTotalBytes !== null ? formatBytes(gpu.memoryTotalBytes) : null,
                        gpu.driver ? `driver ${gpu.driver}` : null,
                        gpu.cuda ? `CUDA ${gpu.cuda}` : null,
                      ]
                        .filter(Boolean)
                        .join(' · ')}
                    </span>
                  </li>
                ))}
              </ul>
            ) : (
              <p className="muted small" data-testid="gpu-error">
                {env.gpuError ?? 'none found'}
              </p>
            )}
            {env.gpuSampling ? (
              <p className="muted small" data-testid="gpu-sampling">
                {env.gpuSampling.source
                  ? `Sampled via ${env.gpuSampling.source}${env.gpuSampling.intervalSeconds ? ` every ${env.gpuSampling.intervalSeconds} s` : ''}`
                  : 'Not sampled'}
                {env.gpuSampling.error && env.gpuSampling.error !== env.gpuError ? `: ${env.gpuSampling.error}` : ''}
              </p>
            ) : null}
          </div>
          <div className="env-part" data-testid="env-git">
            <h3>Git</h3>
            <ProbeError env={env} part="git" />
            {env.git ? <Git git={env.git} /> : env.errors.git ? null : <p className="muted small">not in a git repository</p>}
          </div>
          <div className="env-part env-wide" data-testid="env-packages">
            <h3>Packages</h3>
            <ProbeError env={env} part="packages" />
            <Packages env={env} />
          </div>
          {Object.keys(env.extra).length ? (
            <details className="disclosure env-wide">
              <summary>Other recorded fields</summary>
              <pre className="code">{JSON.stringify(env.extra, null, 2)}</pre>
            </details>
          ) : null}
        </div>
      )}
    </section>
  );
}
