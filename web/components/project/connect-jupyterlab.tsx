// Empty state of the runs table: how to point JupyterLab's Cellmark extension at this project.
'use client';
import Link from 'next/link';
import { useEffect, useState } from 'react';

export function ConnectJupyterLab({ projectPath }: { projectPath: string }) {
  const [origin, setOrigin] = useState('http://localhost:3000');
  useEffect(() => setOrigin(window.location.origin), []);
  const settings = JSON.stringify({ serverUrl: origin, apiToken: 'cm_…', project: projectPath }, null, 2);

  return (
    <div className="card empty" data-testid="runs-empty">
      <h2>No runs yet</h2>
      <p className="muted">Every notebook kernel session recorded by the Cellmark JupyterLab extension shows up here as a run.</p>
      <ol className="steps">
        <li>
          Create an API token under <Link href="/settings/tokens">Settings → API tokens</Link> (it is shown once; copy it).
        </li>
        <li>
          In JupyterLab open <strong>Settings → Settings Editor → Cellmark</strong> and set:
          <pre className="code card" style={{ marginTop: 8 }}>
            {settings}
          </pre>
          <span className="muted small">
            <code className="inline">serverUrl</code> is this server, <code className="inline">apiToken</code> the token you created, and{' '}
            <code className="inline">project</code> is <code className="inline">{projectPath}</code> (team/project).
          </span>
        </li>
        <li>Run a cell in any notebook. The run appears here within seconds.</li>
      </ol>
    </div>
  );
}
