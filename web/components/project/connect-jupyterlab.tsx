// Empty state of the runs table: how to point JupyterLab's Cellmark extension at this project.
// After `npm start` there is nothing to set up: its JupyterLab already records here (me.get's
// localLab says where it is and to which project), so the page says to run a cell there.
'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { useTRPC } from '@/lib/trpc.ts';

export function ConnectJupyterLab({ projectPath }: { projectPath: string }) {
  const trpc = useTRPC();
  const localLab = useQuery(trpc.me.get.queryOptions()).data?.localLab ?? null;
  const recordsHere = localLab !== null && localLab.project === projectPath;

  return (
    <div className="card empty" data-testid="runs-empty" data-setup={recordsHere ? 'quick-start' : 'manual'}>
      <h2>No runs yet</h2>
      <p className="muted">Every notebook kernel session recorded by the Cellmark JupyterLab extension shows up here as a run.</p>
      {recordsHere ? (
        <>
          <p data-testid="run-a-cell">
            Run a cell in JupyterLab at{' '}
            <a href={localLab.url} target="_blank" rel="noreferrer">
              {localLab.url}
            </a>{' '}
            (<code className="inline">npm start</code> printed its address with the sign-in token). It already records to{' '}
            <code className="inline">{projectPath}</code>: the run appears here within seconds.
          </p>
          <details>
            <summary className="muted small">Recording from another JupyterLab?</summary>
            <SetupSteps projectPath={projectPath} />
          </details>
        </>
      ) : (
        <SetupSteps projectPath={projectPath} localLab={localLab?.project ? { url: localLab.url, project: localLab.project } : null} />
      )}
    </div>
  );
}

/** The steps for a JupyterLab that is not set up yet: a token, the settings, a cell. */
function SetupSteps({ projectPath, localLab = null }: { projectPath: string; localLab?: { url: string; project: string } | null }) {
  const [origin, setOrigin] = useState('http://localhost:3000');
  useEffect(() => setOrigin(window.location.origin), []);
  const settings = JSON.stringify({ serverUrl: origin, apiToken: 'cm_…', project: projectPath }, null, 2);
  // the quick start's JupyterLab has a token already, for another project
  if (localLab) {
    return (
      <ol className="steps">
        <li>
          In JupyterLab at <a href={localLab.url}>{localLab.url}</a> open <strong>Settings → Settings Editor → Cellmark</strong> and set{' '}
          <code className="inline">project</code> to <code className="inline">{projectPath}</code> (it records to{' '}
          <code className="inline">{localLab.project}</code> now; its API token is set already).
        </li>
        <li>Run a cell in any notebook. The run appears here within seconds.</li>
      </ol>
    );
  }
  return (
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
  );
}
